# pyright: strict
"""A typed program using githubapp's public surface; ``tests/test_typing.py`` runs pyright and mypy on it.

Every ``assert_type`` is a claim a type checker verifies: if a generated signature or a client method
loses its type (``Any`` leaking in, a wrong model), pyright and mypy report an error here.
Nothing runs at import time: the network calls are inside functions that are never called.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any, Literal, assert_type

import httpx
from pydantic import BaseModel

from githubapp import AsyncGitHubClient, ClientConfig, GitHubClient
from githubapp.errors import (
    AsyncGitHubAPIError,
    AsyncGitHubRateLimitError,
    NotFoundError,
    ResponseValidationError,
    ValidationFailedError,
)
from githubapp.models import Issue
from githubapp.models.commit import Commit
from githubapp.models.content_directory_item import ContentDirectoryItem
from githubapp.models.content_file import ContentFile
from githubapp.models.content_submodule import ContentSubmodule
from githubapp.models.content_symlink import ContentSymlink
from githubapp.models.full_repository import FullRepository
from githubapp.models.issue_comment import IssueComment
from githubapp.models.issues_update_response import IssuesUpdateResponse
from githubapp.models.minimal_repository import MinimalRepository
from githubapp.models.pull_request import PullRequest
from githubapp.models.pull_request_merge_result import PullRequestMergeResult
from githubapp.models.pull_request_review import PullRequestReview
from githubapp.models.pull_request_simple import PullRequestSimple
from githubapp.webhooks import event_model, parse_event
from githubapp.webhooks.models.webhook_issues_opened import WebhookIssuesOpened

OWNER = "octocat"
REPO = "hello-world"


async def triage(gh: AsyncGitHubClient) -> list[int]:
    """Create, read, list and page through issues; returns the numbers seen."""
    issue = await gh.issues.create(owner=OWNER, repo=REPO, title="Found a bug", body="Steps to reproduce...")
    assert_type(issue, Issue)
    assert_type(issue.number, int)
    assert_type(issue.title, str)

    again = await gh.issues.get(OWNER, REPO, issue.number)  # path parameters positionally
    assert_type(again, Issue)
    by_keyword = await gh.issues.get(owner=OWNER, repo=REPO, issue_number=issue.number)
    assert_type(by_keyword, Issue)

    labelled = await gh.issues.create(OWNER, REPO, title="Feature", labels=["enhancement"], assignees=["octocat"])
    assert_type(labelled, Issue)

    open_issues = await gh.issues.list_for_repo(owner=OWNER, repo=REPO, state="open", per_page=100)
    assert_type(open_issues, list[Issue])

    comment = await gh.issues.create_comment(OWNER, REPO, issue.number, body="Thanks!")
    assert_type(comment, IssueComment)

    numbers: list[int] = [it.number for it in open_issues]
    pages = gh.paginate(gh.issues.list_for_repo, owner=OWNER, repo=REPO, state="all", max_items=250)
    assert_type(pages, AsyncIterator[Issue])
    async for item in pages:
        assert_type(item, Issue)
        numbers.append(item.number)
    return numbers


async def pulls_and_repos(gh: AsyncGitHubClient) -> None:
    """Typed calls into the ``pulls`` and ``repos`` namespaces."""
    pr = await gh.pulls.get(OWNER, REPO, 42)
    assert_type(pr, PullRequest)
    assert_type(pr.number, int)

    prs = await gh.pulls.list(OWNER, REPO, state="open", sort="updated", direction="desc")
    assert_type(prs, list[PullRequestSimple])
    # defined after the method named ``list`` in the same class: its ``list[...]`` must still be a type
    commits = await gh.pulls.list_commits(OWNER, REPO, pr.number)
    assert_type(commits, list[Commit])
    async for simple in gh.paginate(gh.pulls.list, OWNER, REPO):
        assert_type(simple, PullRequestSimple)

    review = await gh.pulls.create_review(OWNER, REPO, pr.number, event="APPROVE", body="LGTM")
    assert_type(review, PullRequestReview)
    merged = await gh.pulls.merge(OWNER, REPO, pr.number, merge_method="squash")
    assert_type(merged, PullRequestMergeResult)
    assert_type(merged.merged, bool)

    repo = await gh.repos.get(OWNER, REPO)
    assert_type(repo, FullRepository)
    assert_type(repo.full_name, str)
    org_repos = await gh.repos.list_for_org("github", type="public", per_page=50)
    assert_type(org_repos, list[MinimalRepository])
    content = await gh.repos.get_content(OWNER, REPO, "README.md", ref="main")
    assert_type(content, list[ContentDirectoryItem] | ContentFile | ContentSymlink | ContentSubmodule)
    await gh.repos.delete(OWNER, "scratch")  # -> None (204)
    zen = await gh.meta.get_zen()
    assert_type(zen, bytes)


async def conveniences(gh: AsyncGitHubClient) -> None:
    """The handwritten convenience methods keep the generated return types."""
    assert_type(await gh.get_issue(OWNER, REPO, 1), Issue)
    created = await gh.create_issue(OWNER, REPO, "Title", "Body", labels=["bug"])
    assert_type(created, Issue)
    assert_type(await gh.update_issue(OWNER, REPO, created.number, title="New title"), IssuesUpdateResponse)
    assert_type(await gh.close_issue(OWNER, REPO, created.number), IssuesUpdateResponse)
    assert_type(await gh.add_issue_comment(OWNER, REPO, created.number, "Closing."), IssueComment)
    assert_type(await gh.get_repository(OWNER, REPO), FullRepository)
    assert_type(await gh.create_repository("new-repo", private=True), FullRepository)
    assert_type(await gh.create_repository("org-repo", org="my-org", description="x"), FullRepository)
    assert_type(await gh.update_repository(OWNER, REPO, description="d"), FullRepository)
    assert_type(await gh.get_pull_request(OWNER, REPO, 7), PullRequest)
    assert_type(await gh.create_pull_request(OWNER, REPO, "T", "feature", "main", draft=True), PullRequest)
    assert_type(await gh.merge_pull_request(OWNER, REPO, 7, merge_method="rebase"), PullRequestMergeResult)
    assert_type(await gh.add_pr_review(OWNER, REPO, 7, event="COMMENT", body="nit"), PullRequestReview)


async def raw_and_errors(gh: AsyncGitHubClient) -> datetime | None:
    """``gh.request`` returns the raw response; errors carry typed context."""
    response = await gh.request("GET", "/repos/{owner}/{repo}", owner=OWNER, repo=REPO)
    assert_type(response, httpx.Response)
    data: Any = response.json()
    del data
    try:
        await gh.issues.get(OWNER, REPO, 999_999)
    except AsyncGitHubRateLimitError as exc:
        assert_type(exc.reset_time, datetime | None)
        assert_type(exc.retry_after, float | None)
        assert_type(exc.secondary, bool)
        return exc.reset_time
    except NotFoundError as exc:
        assert_type(exc.status_code, int | None)
    except ValidationFailedError as exc:
        assert_type(exc.errors, list[Any])
    except AsyncGitHubAPIError as exc:
        assert_type(exc.message, str)
        assert_type(exc.request_id, str | None)
        assert_type(exc.documentation_url, str | None)
    except ResponseValidationError:
        pass
    return None


def blocking(token: str) -> list[str]:
    """The same generated surface on the blocking client."""
    with GitHubClient(token=token, base_url="https://api.github.com", timeout=10) as gh:
        assert_type(gh, GitHubClient)
        issue = gh.issues.create(owner=OWNER, repo=REPO, title="From a script")
        assert_type(issue, Issue)
        assert_type(gh.issues.get(OWNER, REPO, issue.number), Issue)
        assert_type(gh.repos.get(OWNER, REPO), FullRepository)
        assert_type(gh.request("GET", "/rate_limit"), httpx.Response)
        pages = gh.paginate(gh.issues.list_for_repo, owner=OWNER, repo=REPO, max_items=10)
        assert_type(pages, Iterator[Issue])
        return [it.title for it in pages]


def on_delivery(event: str, body: bytes) -> int | None:
    """Webhook payloads: the event map and the parser."""
    model = event_model("issues.opened")
    assert_type(model, type[BaseModel])
    payload = parse_event(event, body)
    if isinstance(payload, WebhookIssuesOpened):
        assert_type(payload.issue.number, int)
        assert_type(payload.action, Literal["opened"])
        return payload.issue.number
    return None


async def pipeline_graphql_and_batch(gh: AsyncGitHubClient) -> None:
    """Pipeline state, page-level pagination, GraphQL and batches keep their types."""
    from githubapp.batch import BatchProgress
    from githubapp.http.ratelimit import RateLimit
    from githubapp.http.state import PipelineStats
    from githubapp.pagination import Page

    assert_type(gh.stats, PipelineStats)
    assert_type(gh.stats.cache.hits, int)
    assert_type(gh.rate_limit["core"], RateLimit)
    assert_type(gh.rate_limit["core"].remaining, int)
    async for page in gh.paginate_pages(gh.issues.list_for_repo, OWNER, REPO):
        assert_type(page, Page[Issue])
        assert_type(page.items, list[Issue])

    def report(progress: BatchProgress) -> None:
        print(progress.done, progress.total)

    results = await gh.batch([(gh.issues.get, {"owner": OWNER, "repo": REPO, "issue_number": n}) for n in (1, 2)], on_progress=report)
    assert_type(results, list[Issue | Exception])
    details = await gh.get_repository_details_graphql(OWNER, REPO)
    assert_type(details.stars, int)


def github_app() -> None:
    """The App framework: typed handlers, the awaitable/async-with installation client."""
    from githubapp import GitHubApp
    from githubapp.webhooks import IssuesOpened

    app = GitHubApp(github_app_id=1, github_app_key="-----BEGIN RSA PRIVATE KEY-----...", github_app_secret="s")

    @app.on("issues.opened", background=True)
    async def thank(event: IssuesOpened) -> str:
        async with app.async_client() as client:
            assert_type(client, AsyncGitHubClient)
            comment = await client.issues.create_comment(event.repository.owner.login, event.repository.name, event.issue.number, body="hi")
        return comment.html_url

    handler: Callable[[IssuesOpened], Coroutine[Any, Any, str]] = thank  # the decorator keeps the signature
    print(handler)


async def main() -> None:
    """Entry point (never called by the tests: they only type-check this file)."""
    config = ClientConfig(timeout=15.0, validation="strict")
    assert_type(config.validation, Literal["lenient", "strict"])
    async with AsyncGitHubClient(token="ghp_example", config=config) as gh:
        assert_type(gh, AsyncGitHubClient)
        await triage(gh)
        await pulls_and_repos(gh)
        await conveniences(gh)
        await raw_and_errors(gh)


if __name__ == "__main__":
    asyncio.run(main())
