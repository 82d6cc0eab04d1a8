"""The asset rules (metaspatial_env.assets): the GLB checker on real files built with trimesh, and
the fitting matrix that maps any mesh's bounds onto its object's box."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest

from metaspatial_env.assets import GLTF_TO_ZUP, MeshLimits, check_glb, fit_transform, inside_root

trimesh = pytest.importorskip("trimesh")


def _corners(lo, hi):
    return np.array([[x, y, z, 1.0] for x, y, z in itertools.product(*zip(lo, hi))])


def _apply(m, points):
    return (points @ m.T)[:, :3]


@pytest.mark.parametrize("forward", ["+x", "-x", "+y", "-y"])
def test_fitted_bounds_land_on_the_box_faces(forward):
    lo, hi = np.array([3.0, -7.0, 10.0]), np.array([5.5, -6.0, 10.4])  # offset, thin, high up
    size = (2.0, 0.8, 1.2)
    out = _apply(fit_transform(lo, hi, size, forward), _corners(lo, hi))
    np.testing.assert_allclose(out.min(axis=0), [-1.0, -0.4, -0.6], atol=1e-12)
    np.testing.assert_allclose(out.max(axis=0), [1.0, 0.4, 0.6], atol=1e-12)


@pytest.mark.parametrize("forward, tip", [("+x", [1, 0, 0]), ("-x", [-1, 0, 0]), ("+y", [0, 1, 0]), ("-y", [0, -1, 0])])
def test_the_front_turns_to_plus_y(forward, tip):
    """A mesh with a nose on its front: the nose ends up at the box's front face (y = +W/2), centred."""
    lo, hi = np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 2.0])
    nose = np.array([[*tip[:2], 1.0, 1.0]])  # middle of the front face, half-way up
    out = _apply(fit_transform(lo, hi, (4.0, 2.0, 1.0), forward), nose)[0]
    np.testing.assert_allclose(out, [0.0, 1.0, 0.0], atol=1e-12)


def test_scaling_is_per_axis_and_the_matrix_is_affine():
    m = fit_transform([0, 0, 0], [1, 2, 4], (1.0, 1.0, 1.0), "+y")
    np.testing.assert_allclose(np.diag(m)[:3], [1.0, 0.5, 0.25])
    np.testing.assert_allclose(m[3], [0, 0, 0, 1])


def test_a_flat_mesh_lies_on_the_bottom_unscaled():
    """A rug modelled as a plane has no height: it is not blown up, it lies on the box's bottom."""
    lo, hi = np.array([-2.0, -1.0, 5.0]), np.array([2.0, 1.0, 5.0])
    out = _apply(fit_transform(lo, hi, (3.0, 2.0, 0.02), "+y"), _corners(lo, hi))
    np.testing.assert_allclose(out[:, 2], -0.01)
    np.testing.assert_allclose(out.min(axis=0)[:2], [-1.5, -1.0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mesh_forward"):
        fit_transform([0, 0, 0], [1, 1, 1], (1, 1, 1), "up")
    with pytest.raises(ValueError, match="bounds"):
        fit_transform([0, 0, 0], [1, np.nan, 1], (1, 1, 1))
    with pytest.raises(ValueError, match="box size"):
        fit_transform([0, 0, 0], [1, 1, 1], (1, 0, 1))


def test_gltf_front_is_minus_y_in_z_up():
    np.testing.assert_allclose(GLTF_TO_ZUP @ [0, 0, 1, 1], [0, -1, 0, 1])  # glTF +z (front)
    np.testing.assert_allclose(GLTF_TO_ZUP @ [0, 1, 0, 1], [0, 0, 1, 1])  # glTF +y (up)


# ---------------------------------------------------------------------------- the checker
def _glb(path, mesh=None):
    mesh = mesh if mesh is not None else trimesh.creation.box(extents=(1, 2, 3))
    path.write_bytes(trimesh.Scene(mesh).export(file_type="glb"))
    return path


def test_a_real_glb_passes(tmp_path):
    assert check_glb(_glb(tmp_path / "a.glb"), root=tmp_path) is None


def test_problems_are_named_without_paths(tmp_path):
    good = _glb(tmp_path / "good.glb")
    data = good.read_bytes()
    (tmp_path / "garbage.glb").write_bytes(b"this is no mesh at all")
    (tmp_path / "short.glb").write_bytes(data[: len(data) // 2])
    (tmp_path / "v1.glb").write_bytes(data[:4] + struct.pack("<I", 1) + data[8:])
    (tmp_path / "dir.glb").mkdir()
    cases = {
        "missing.glb": "missing file",
        "garbage.glb": "not a GLB file",
        "short.glb": "truncated GLB file",
        "v1.glb": "GLB version 1",
        "dir.glb": "not a file",
    }
    for name, problem in cases.items():
        text = check_glb(tmp_path / name)
        assert text is not None and text.startswith(problem), (name, text)
        assert str(tmp_path) not in text


def test_limits_refuse_big_files(tmp_path):
    path = _glb(tmp_path / "a.glb", trimesh.creation.icosphere(subdivisions=3))  # 642 vertices
    assert check_glb(path, MeshLimits(max_bytes=100)).startswith("file is ")
    assert check_glb(path, MeshLimits(max_vertices=100)) == "mesh has 642 vertices; at most 100"
    assert check_glb(path, MeshLimits(max_vertices=642)) is None


def test_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    outside = _glb(tmp_path / "elsewhere.glb")
    (root / "link.glb").symlink_to(outside)
    assert check_glb(outside, root=root) == "outside the dataset root"
    assert check_glb(root / "link.glb", root=root) == "outside the dataset root"
    assert check_glb(root / ".." / "elsewhere.glb", root=root) == "outside the dataset root"
    assert not inside_root(root / "../elsewhere.glb", root) and inside_root(root / "x.glb", root)
