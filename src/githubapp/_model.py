"""The base class of every generated model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class GitHubModel(BaseModel):
    """Base of the generated models.

    Unknown fields are kept (GitHub adds fields before its description does), fields are filled by
    alias or by name, and schemas are built on first use so importing a model stays cheap.
    Values read by attribute (``issue.title``) or, as in ghapi, by key (``issue["title"]``).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def __getitem__(self, key: str) -> Any:
        fields = type(self).model_fields
        if key in fields:
            return getattr(self, key)
        for name, info in fields.items():
            if info.alias == key:
                return getattr(self, name)
        extra = self.__pydantic_extra__
        if extra is not None and key in extra:
            return extra[key]
        raise KeyError(key)
