"""The public API: one sorted ``__all__``, options and defaults named once, a command
line that stands on the public API like any user's script."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import get_type_hints

import cronofy_frames as cf
from cronofy_frames import _config, cli, schema
from cronofy_frames._transport import TransportConfig
from cronofy_frames.loader import LoadKwargs, LoadOptions


def test_public_names_are_sorted_and_exported() -> None:
    isort_style = sorted(cf.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert cf.__all__ == isort_style
    assert all(hasattr(cf, name) for name in cf.__all__)
    for name in (
        "load",
        "load_profiles",
        "load_accounts",
        "Token",
        "ClientCredentials",
        "tokens_from_csv",
        "tokens_from_frame",
        "tokens_from_env",
        "DATA_CENTERS",
    ):
        assert name in cf.__all__


def test_load_kwargs_and_load_options_list_the_same_options() -> None:
    assert set(get_type_hints(LoadKwargs)) == {f.name for f in dataclasses.fields(LoadOptions)}


def test_every_default_is_named_once_in_config() -> None:
    options, transport = LoadOptions(), TransportConfig()
    for name, value in [
        ("timeout", _config.TIMEOUT),
        ("max_workers", _config.MAX_WORKERS),
        ("retries", _config.RETRIES),
        ("retry_after_max", _config.RETRY_AFTER_MAX),
        ("max_response_bytes", _config.MAX_RESPONSE_BYTES),
    ]:
        assert getattr(options, name) == getattr(transport, name) == value
    assert cf.RateLimit() == cf.RateLimit(_config.PER_SECOND, _config.PER_MINUTE)


def test_the_cli_takes_its_defaults_and_help_from_config() -> None:
    parser = cli._load_parser()
    args = parser.parse_args(["tokens.csv", "--out", "out"])
    assert (args.timeout, args.max_workers, args.retries) == (
        _config.TIMEOUT,
        _config.MAX_WORKERS,
        _config.RETRIES,
    )
    assert args.rate_limit == f"{_config.PER_SECOND}/{_config.PER_MINUTE}"
    assert f"default {_config.RETRIES})" in parser.format_help()


def test_the_cli_imports_no_private_module() -> None:
    tree = ast.parse(Path(cli.__file__).read_text())
    modules = [
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    ]
    assert modules
    assert not [m for m in modules if m.startswith("_") and m != "sandbox.cli"]


def test_a_snapshot_is_built_from_its_frames_by_name() -> None:
    frames = {name: schema.empty(schema.SCHEMAS[name]) for name in schema.FRAMES}
    snap = cf.Snapshot.from_frames({"profiles": frames["profiles"]}, unfinished=["a"])
    assert list(snap.frames()) == list(schema.FRAMES)
    assert snap.unfinished == ["a"]
    assert all(list(f.columns) == list(schema.SCHEMAS[n]) for n, f in snap.frames().items())
