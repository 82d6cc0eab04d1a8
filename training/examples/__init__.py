"""Runnable examples of the training integrations (``python -m training.examples.NAME``)."""
