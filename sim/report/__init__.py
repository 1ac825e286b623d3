"""Presentation: figures built on :class:`matplotlib.figure.Figure` (never pyplot state), the
self-contained HTML reports of runs and comparisons."""
