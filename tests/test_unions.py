"""``BestFit``: unions of models decode into the member that declares most of the payload's keys."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from githubapp._decode import decode_json
from githubapp._model import GitHubModel
from githubapp._unions import BestFit


class Reviewers(GitHubModel):
    id: int
    node_id: str
    type: str
    prevent_self_review: bool | None = None
    reviewers: list[str] | None = None


class WaitTimer(GitHubModel):
    id: int
    node_id: str
    type: str
    wait_timer: int | None = None


class Other(GitHubModel):
    id: int
    node_id: str
    type: str


Rule = Annotated[Reviewers | WaitTimer | Other, BestFit]
MEMBERS: tuple[type[GitHubModel], ...] = (Reviewers, WaitTimer, Other)
RULE = TypeAdapter(Rule)


class Environment(GitHubModel):
    protection_rules: list[Rule] | None = None
    main_rule: Annotated[Reviewers | WaitTimer | None, BestFit, Field(alias="main-rule")] = None


BASE = {"id": 1, "node_id": "N", "type": "x"}


def both(payload: dict[str, Any]) -> list[Any]:
    """The payload decoded through validate_json (the SDK's path) and validate_python."""
    return [RULE.validate_json(json.dumps(payload).encode()), RULE.validate_python(payload)]


def declared(member: type[GitHubModel], payload: dict[str, Any]) -> int:
    return len({info.alias or name for name, info in member.model_fields.items()} & payload.keys())


def test_best_fitting_member_is_chosen() -> None:
    for value in both({**BASE, "wait_timer": 30}):
        assert type(value) is WaitTimer
        assert value.wait_timer == 30
    for value in both({**BASE, "reviewers": ["octocat"]}):
        assert type(value) is Reviewers


def test_ties_keep_the_first_member() -> None:
    for value in both(dict(BASE)):
        assert type(value) is Reviewers
    for value in both({**BASE, "prevent_self_review": True, "wait_timer": 3}):  # 4 declared keys each
        assert type(value) is Reviewers


def test_best_fit_failing_falls_back_to_a_member_that_validates() -> None:
    for value in both({**BASE, "wait_timer": "soon"}):
        assert type(value) is Reviewers  # WaitTimer would fit best but rejects the value
        assert value["wait_timer"] == "soon"  # kept as an extra, not lost


def test_unknown_keys_are_kept() -> None:
    for value in both({**BASE, "wait_timer": 30, "brand_new": {"x": [1]}}):
        assert type(value) is WaitTimer
        assert value.__pydantic_extra__ == {"brand_new": {"x": [1]}}
        assert value["brand_new"] == {"x": [1]}


def test_invalid_input_fails_as_the_plain_union_does() -> None:
    plain = TypeAdapter(Reviewers | WaitTimer | Other)
    bad = json.dumps({"id": "one", "node_id": "N"})
    with pytest.raises(ValidationError) as marked:
        RULE.validate_json(bad)
    with pytest.raises(ValidationError) as unmarked:
        plain.validate_json(bad)
    assert marked.value.errors(include_url=False) == unmarked.value.errors(include_url=False)


def test_fields_of_models_round_trip() -> None:
    payload = {
        "protection_rules": [{**BASE, "wait_timer": 30}, {**BASE, "reviewers": ["a"], "extra": 1}, dict(BASE)],
        "main-rule": {**BASE, "wait_timer": 5},
    }
    for env in (Environment.model_validate_json(json.dumps(payload)), Environment.model_validate(payload)):
        assert [type(r) for r in env.protection_rules or []] == [WaitTimer, Reviewers, Reviewers]
        assert type(env.main_rule) is WaitTimer
        dumped = env.model_dump(mode="json", by_alias=True, exclude_unset=True)
        assert dumped == payload
        assert Environment.model_validate_json(env.model_dump_json(by_alias=True)) == env
    assert Environment.model_validate({"main-rule": None}).main_rule is None


def test_strict_decode_and_generated_models() -> None:
    """The SDK's decode path (both lenient and strict) on a generated model marked by the generator."""
    from githubapp.models import Environment as GeneratedEnvironment
    from githubapp.models.environment import EnvironmentProtectionRules1

    body = {
        "id": 1, "node_id": "E", "name": "prod", "url": "u", "html_url": "h",
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        "protection_rules": [{"id": 2, "node_id": "R", "type": "wait_timer", "wait_timer": 30}],
    }
    for strict in (False, True):
        env = decode_json(GeneratedEnvironment, json.dumps(body).encode(), "test", strict=strict)
        (rule,) = env.protection_rules
        assert type(rule) is EnvironmentProtectionRules1
        assert rule.wait_timer == 30


def test_generator_marks_unions_of_two_or_more_models() -> None:
    models = pytest.importorskip("codegen.models")
    source = (
        "class X(GitHubModel):\n"
        "    a: list[A | B | C] | None = None\n"
        "    b: Annotated[\n        A | B | None, Field(title='x')\n    ]\n"
        "    c: A | None = None\n"
        "    d: dict[str, A | int]\n"
        "    e: Annotated[A | Literal['é'] | B, Field(...)]\n"
    )
    assert models.mark_best_fit_unions(source, {"A", "B", "C"}) == (
        "class X(GitHubModel):\n"
        "    a: list[Annotated[A | B | C, BestFit]] | None = None\n"
        "    b: Annotated[\n        A | B | None, BestFit, Field(title='x')\n    ]\n"
        "    c: A | None = None\n"
        "    d: dict[str, A | int]\n"
        "    e: Annotated[A | Literal['é'] | B, BestFit, Field(...)]\n"
    )


KEYS = ("prevent_self_review", "reviewers", "wait_timer", "unknown")
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3), st.lists(st.text(max_size=2), max_size=2))


@given(st.dictionaries(st.sampled_from(KEYS), VALUES), st.booleans())
def test_chosen_member_declares_most_keys_among_members_that_validate(extra: dict[str, Any], as_json: bool) -> None:
    payload = {**BASE, **extra}
    valid = []
    for member in MEMBERS:
        try:
            member.model_validate(payload)
        except ValidationError:
            continue
        valid.append(member)
    try:
        value = RULE.validate_json(json.dumps(payload)) if as_json else RULE.validate_python(payload)
    except ValidationError:
        assert not valid  # an error only when no member accepts the payload
        return
    assert max(declared(m, payload) for m in valid) == declared(type(value), payload)
    assert value.model_dump(mode="json", by_alias=True, exclude_unset=True).keys() == payload.keys()  # nothing lost


def test_the_picker_rereads_a_result_that_another_member_declares_better() -> None:
    """Independent of how a pydantic version breaks the union's tie: a member instance carrying, as
    unknown keys, fields another member declares is re-read as that member (with every value kept)."""
    given = Reviewers.model_validate({**BASE, "wait_timer": 30, "extra": [1]})
    assert given.model_extra == {"wait_timer": 30, "extra": [1]}
    value = RULE.validate_python(given)  # the union keeps an instance of a member as it is ...
    assert type(value) is WaitTimer and value.wait_timer == 30 and value.model_extra == {"extra": [1]}
    assert RULE.validate_python(Reviewers.model_validate({**BASE, "reviewers": ["a"]})).reviewers == ["a"]


def test_the_generator_marks_unions_in_classes_with_unusual_line_breaks() -> None:
    """Descriptions may hold form feeds or U+2028, which str.splitlines (not ast) counts as line ends."""
    from codegen.models import mark_best_fit_unions

    source = 'class X(GitHubModel):\n    """a\x0cb \u2028 c"""\n    f: A | B | None = None\n'
    assert mark_best_fit_unions(source, {"A", "B"}).endswith("    f: Annotated[A | B | None, BestFit] = None\n")
