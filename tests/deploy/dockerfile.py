"""Read what the Dockerfile promises, so tests hold the image's contract without a Docker engine.

Only the few instructions the tests need are understood: ``FROM`` (stages), ``COPY`` sources of
the build context, ``ENV`` of the final stage and the ``HEALTHCHECK`` command.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    arguments: str


def instructions(path: Path) -> list[Instruction]:
    """Each instruction with its stage index, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    found: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append(Instruction(stage, keyword, arguments.strip()))
    return found


def final_stage(path: Path) -> list[Instruction]:
    every = instructions(path)
    last = max(i.stage for i in every)
    return [i for i in every if i.stage == last]


def environment(path: Path) -> dict[str, str]:
    """The ``ENV`` of the final stage, as the container sees it."""
    env: dict[str, str] = {}
    for instruction in final_stage(path):
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def context_sources(path: Path) -> list[str]:
    """What ``COPY`` takes from the build context (not from another stage)."""
    sources: list[str] = []
    for instruction in instructions(path):
        if instruction.keyword == "COPY" and "--from=" not in instruction.arguments:
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            sources.extend(words[:-1])
    return sources


def healthcheck(path: Path) -> list[str]:
    """The exec-form command of ``HEALTHCHECK ... CMD [...]``."""
    (instruction,) = [i for i in final_stage(path) if i.keyword == "HEALTHCHECK"]
    _, _, command = instruction.arguments.partition("CMD ")
    argv: list[str] = json.loads(command)
    return argv


def single(path: Path, keyword: str) -> str:
    (instruction,) = [i for i in final_stage(path) if i.keyword == keyword]
    return instruction.arguments
