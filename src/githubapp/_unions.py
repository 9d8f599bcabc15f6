"""Unions of models that decode into the member fitting the payload best.

Generated models keep unknown keys (``extra='allow'``), so for pydantic's smart union every member
that validates fits equally well and the first one wins, even when a later member declares the
payload's keys (``{"type": "wait_timer", "wait_timer": 30}`` read as the rule without ``wait_timer``).
The marker fixes that without a discriminator, which GitHub's description does not give::

    from typing import Annotated
    from githubapp._unions import BestFit

    class Environment(GitHubModel):
        protection_rules: list[Annotated[Rules | Rules1 | Rules2, BestFit]] | None = None

The union validates as before (natively, also from JSON); then, if other model members declare
strictly more of the keys the chosen member was given (its fields set and its unknown keys), the
input is validated again with those members, most keys first, from the chosen member's dump, and
the first that validates is returned. Ties keep the smart union's choice; an input that validated
never becomes an error; serialization is the union's own. The re-validation runs in pydantic's
lax mode with the caller's ``context`` (a ``strict=True`` given to pydantic is not visible here).
The generator (``codegen/models.py``) wraps every field union with two or more model members.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, RootModel, ValidationError
from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler

__all__ = ["BestFit"]


class _BestFit:
    """The type of :data:`BestFit` (one instance is enough: the marker has no options)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BestFit"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        schema = handler(source)
        members = _model_members(source)
        if len(members) < 2:
            return schema
        # an after validator: the union validates the input natively (JSON stays JSON), the picker
        # only looks at the result; serialization stays the union's
        return core_schema.with_info_after_validator_function(_Picker(members), schema)


BestFit: Final = _BestFit()
"""``Annotated[A | B | C, BestFit]``: decode into the model member declaring most of the payload's keys."""


def _model_members(tp: Any) -> tuple[type[BaseModel], ...]:
    """The model classes of the union ``tp`` (through ``Annotated``), in order."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) not in (Union, types.UnionType):
        return ()
    out = []
    for arg in get_args(tp):
        while get_origin(arg) is Annotated:
            arg = get_args(arg)[0]
        if isinstance(arg, type) and issubclass(arg, BaseModel) and not issubclass(arg, RootModel) and arg not in out:
            out.append(arg)
    return tuple(out)


def sent_keys(value: BaseModel) -> set[str]:
    """The keys a decoded model was given: its fields set (by name) and its unknown keys."""
    return set(value.model_fields_set) | set(value.__pydantic_extra__ or ())


class _Picker:
    """The after validator: the smart union's result, or a member that declares more of the keys it was given."""

    __slots__ = ("_keys", "_members")

    def __init__(self, members: tuple[type[BaseModel], ...]) -> None:
        self._members = members
        self._keys: dict[type[BaseModel], frozenset[str]] | None = None  # filled on first use

    def keys(self) -> dict[type[BaseModel], frozenset[str]]:
        """Each member's declared keys, by field name and by alias (``populate_by_name`` accepts both)."""
        if self._keys is None:
            self._keys = {
                m: frozenset(key for name, info in m.model_fields.items() for key in (name, info.alias or name))
                for m in self._members
            }
        return self._keys

    def __call__(self, result: Any, info: core_schema.ValidationInfo) -> Any:
        if not getattr(result, "__pydantic_extra__", None):
            return result  # no unknown keys (or not a model): the chosen member declares all it was given
        keys = self.keys()
        chosen = keys.get(type(result))
        if chosen is None:  # a value that is not one of the members
            return result
        sent = sent_keys(result)
        have = len(chosen.intersection(sent))
        if have == len(sent):
            return result  # the chosen member declares every key: none can declare more
        better = [(n, m) for m in self._members if (n := len(keys[m].intersection(sent))) > have]
        if not better:
            return result
        better.sort(key=lambda item: -item[0])  # stable: members in union order among equals
        # the input again, as the chosen member read it (declared fields by alias, unknown keys as sent)
        data = result.model_dump(mode="json", by_alias=True, exclude_unset=True)
        for _, member in better:
            try:
                return member.model_validate(data, context=info.context)
            except ValidationError:
                continue
        return result
