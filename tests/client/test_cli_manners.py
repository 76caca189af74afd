"""The command line says what it computes and behaves in a pipeline.

Region formulas are checked against a network whose maps are known in closed
form; every option of every subcommand must carry help text; a reader that
closes the pipe early (``| head -n 1``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import relumap
from relumap.cli import build_parser, main

SCRIPT = Path(sys.executable).with_name("relumap")
ROOT = Path(__file__).resolve().parents[2]


def two_piece_plane(api: relumap.Client) -> relumap.Model:
    # relu(x1 - x2) + 0.5 relu(x1 + 10) - 7 on [-2, 2]²; the second unit is always on, so
    # y = 1.5 x1 - x2 - 2 where x1 > x2, and y = 0.5 x1 - 2 where x1 < x2.
    return api.network(
        [[[1.0, 1.0], [-1.0, 0.0]], [[1.0], [0.5]]],
        [[0.0, 10.0], [-7.0]],
        domain=[[-2, -2], [2, 2]],
    )


def test_regions_table_shows_each_regions_formula(
    api: relumap.Client, capsys: pytest.CaptureFixture[str], live_url: str
) -> None:
    model = two_piece_plane(api)
    assert main(["--url", live_url, "regions", model.id]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("region ")))
    assert lines[header].split()[-1] == "formula", out
    formulas = {line.split("  ")[-1].strip() for line in lines[header + 1 :] if line.strip()}
    assert formulas == {"y = 1.5·x1 − 1·x2 − 2", "y = 0.5·x1 − 2"}


def test_regions_formula_of_a_classifier_names_the_logit(
    xor_model: relumap.Model, capsys: pytest.CaptureFixture[str], live_url: str
) -> None:
    regions = xor_model.regions()
    assert main(["--url", live_url, "regions", xor_model.id]) == 0
    out = capsys.readouterr().out
    assert out.count("logit = ") == min(regions.n_regions, 50)


def subparsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from subparsers(child, (*path, name))


def test_every_option_of_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(subparsers(build_parser()))
    assert len(commands) > 15
    for path, parser in commands:
        assert main([*path, "--help"]) == 0
        text = capsys.readouterr().out
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            where = f"relumap {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help != argparse.SUPPRESS, f"{where} has no help"
            # The help shows in --help: the first words of it follow the option.
            assert " ".join(action.help.split()[:3]).replace("%%", "%") in " ".join(text.split()), (
                where
            )


def test_closed_pipe_exits_quietly(api: relumap.Client, live_url: str) -> None:
    # 40 random lines through [-2, 2]²: hundreds of regions, so far more JSON than a pipe
    # holds, and the command is still writing when head has gone.
    rng = np.random.default_rng(0)
    model = api.network(
        [rng.normal(size=(2, 40)), rng.normal(size=(40, 1))],
        [rng.uniform(-1, 1, size=40), [0.0]],
        domain=[[-2, -2], [2, 2]],
    )
    assert model.regions().n_regions > 300
    env = {k: v for k, v in os.environ.items() if k not in ("RELUMAP_URL", "RELUMAP_API_KEY")}
    env["RELUMAP_URL"] = live_url
    done = subprocess.run(
        f"set -o pipefail; {SCRIPT} --json regions {model.id} | head -n 1",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.stdout == "{\n"
    assert done.stderr == ""
    assert done.returncode == 141


def test_make_serve_takes_a_port() -> None:
    def serve(*args: str) -> str:
        done = subprocess.run(
            ["make", "--no-print-directory", "-n", "serve", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    assert serve("PORT=8123").endswith("--host 127.0.0.1 --port 8123")
    assert serve().endswith("--host 127.0.0.1 --port 8000")
