"""Calls that type checkers must reject; ``tests/test_typing.py`` runs pyright and mypy on this file.

Every line ending in ``# error: <word>`` must get an error from both checkers whose message mentions
``<word>``; no other line may get one. Nothing runs at import time.
"""

from __future__ import annotations

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.models.pull_request import PullRequest


async def misspelt(gh: AsyncGitHubClient) -> None:
    await gh.issues.create(owner="o", repo="r", titel="t")  # error: titel
    await gh.issues.get("o", "r", issue_number="7")  # error: issue_number


async def after_a_method_named_list(gh: AsyncGitHubClient) -> None:
    # issues.list_for_repo and issues.update are defined after issues.list in the generated class
    await gh.issues.list_for_repo("o", "r", per_page="100")  # error: per_page
    await gh.issues.list_for_repo("o", "r", state="opened")  # error: state
    await gh.issues.update("o", "r", 7, labels="bug")  # error: labels
    await gh.pulls.list_commits("o", "r", pull_number="1")  # error: pull_number


async def wrong_result(gh: AsyncGitHubClient) -> None:
    pr: PullRequest = await gh.issues.get("o", "r", 7)  # error: PullRequest
    del pr
    await gh.get_issue("o", "r", "7")  # error: get_issue
    await gh.add_pr_review("o", "r", 7, event="APPROVE").number  # error: number


def blocking(gh: GitHubClient) -> None:
    gh.issues.create("o", "r", titel="t")  # error: titel
    gh.issues.get("o", "r", "7")  # error: get
