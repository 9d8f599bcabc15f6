"""The request pipeline and its transport seam.

:class:`AsyncPipeline` / :class:`SyncPipeline` take a :class:`~githubapp._operation.PreparedRequest`
and return a successful :class:`httpx.Response` or raise a :mod:`githubapp.errors` exception.
Stages are listed in order in ``pipeline.py``; both pipelines share every decision.
"""

from .pipeline import AsyncPipeline, SyncPipeline

__all__ = ["AsyncPipeline", "SyncPipeline"]
