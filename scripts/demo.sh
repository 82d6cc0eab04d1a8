#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the demo: heuristic and random policies on bundled test rooms,
# rendered with Blender (MetaSpatial-v0; pass --renderer raster for the fast rasteriser), writing
# per-turn images, out/demo/metrics.json and out/demo/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,blender
.venv/bin/metaspatial demo "$@"
