"""Analyses beyond the exercise sheet, one command for all of them:

    python -m analyses --help          # the list
    python -m analyses compare         # Q2e/Q3c measurements from finished plain and denoise runs
    python -m analyses q1              # the Q1 experiment (batch vs mini-batch vs stochastic GD)
    python -m analyses seeds           # both modes over seeds 0-4, every measure, next to PCA-8
    python -m analyses denoisers       # the DAE against tuned filters, BM3D, PCA; sweeps
    python -m analyses mirrored        # the decoder as printed against the mirrored one
    python -m analyses dae-tuning      # the DAE tuned on the filters' held-out images
    python -m analyses dae-longer      # the tuned widened DAE trained past the tuning's grid
    python -m analyses bm3d-blocks     # BM3D's block size and step tuned for 28x28 images
    python -m analyses patch-prior     # sparse coding over a dictionary learned from patches
    python -m analyses beta1           # the other reading of "momentum 1e-5" (Adam's beta1)
    python -m analyses revival         # what revives the dead start of seed 0
    python -m analyses variant NAME    # ex09.py with another network (mirrored, linear code, wider)

Run from the project folder. Each analysis is a module here with build_parser(parser) and
run(args); they import ex09 (the sheet's script), which never imports them.
"""
