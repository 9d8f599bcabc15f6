"""githubapp quickstart: create, fetch, list and paginate issues.

Offline, against the bundled mock server:   make demo
Against GitHub (creates a real issue!):      GITHUB_TOKEN=... GITHUB_REPOSITORY=you/your-repo \\
                                             python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
import os

from githubapp import AsyncGitHubClient
from githubapp.models import Issue

OWNER, REPO = os.environ.get("GITHUB_REPOSITORY", "octocat/hello-world").split("/", 1)


def describe(issue: Issue) -> str:
    author = issue.user.login if issue.user else "ghost"
    return f"#{issue.number} {issue.title!r} ({issue.state}) by @{author}"


async def main() -> None:
    token = os.environ["GITHUB_TOKEN"]
    base_url = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    async with AsyncGitHubClient(token=token, base_url=base_url) as gh:
        # POST /repos/{owner}/{repo}/issues -> Issue
        issue: Issue = await gh.issues.create(
            owner=OWNER, repo=REPO, title="Found a bug", body="I'm having a problem with this."
        )
        print(f"created    {describe(issue)}")

        # GET /repos/{owner}/{repo}/issues/{issue_number}; path params may be positional
        same: Issue = await gh.issues.get(OWNER, REPO, issue.number)
        print(f"fetched    {describe(same)}")
        if same.number != issue.number:
            raise SystemExit(f"expected issue #{issue.number}, got #{same.number}")

        # GET /repos/{owner}/{repo}/issues -> list[Issue] (one page)
        page: list[Issue] = await gh.issues.list_for_repo(owner=OWNER, repo=REPO, state="open", per_page=2)
        print(f"page 1     {len(page)} open issues (per_page=2): {', '.join(f'#{i.number}' for i in page)}")

        # Follow Link rel="next" across pages, yielding typed Issue items
        total = 0
        async for item in gh.paginate(gh.issues.list_for_repo, owner=OWNER, repo=REPO, per_page=2, max_items=5):
            total += 1
            print(f"paginate   {total}. {describe(item)}")
        print(f"paginated  {total} issues in total (per_page=2, max_items=5)")
        if not 0 < total <= 5:
            raise SystemExit(f"paginate yielded {total} items, expected 1..5")


if __name__ == "__main__":
    asyncio.run(main())  # any failed call raises, so the script exits non-zero
