"""The githubapp code generator: pinned OpenAPI descriptions in ``spec/`` -> ``src/githubapp/``.

Run it as ``python -m codegen`` (``make generate``); ``python -m codegen --check`` fails when the
committed generated code differs from a fresh generation (``make check-generated``).
"""
