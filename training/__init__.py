"""Multi-turn RL training of layout policies on Ray (see the training issue; not built yet)."""
