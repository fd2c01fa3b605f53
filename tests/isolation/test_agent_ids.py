"""Agent-id validation: the allow-list, each refusal's message, and the property
that an accepted id always names a direct child of the agents directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.areas.isolation.hostile_ids import HostileId, hostile_agent_ids
from conformance.errors import InvalidAgentId
from reference_impl.isolation import MAX_LENGTH, check_agent_id, validate_agent_id


@pytest.mark.parametrize("agent_id", ["planner", "planner-2", "coder.fix", "A1", "x_y",
                                      "a" * MAX_LENGTH, "console", "con-1", "nulls"])
def test_ordinary_ids_are_accepted(agent_id: str) -> None:
    assert validate_agent_id(agent_id) == agent_id


@pytest.mark.parametrize(("agent_id", "rule"), [
    ("", "empty"),
    ("..", "'.' or '..'"),
    (".", "'.' or '..'"),
    ("a/b", "path separator"),
    ("a\\b", "path separator"),
    ("../etc", "path separator"),
    ("/abs", "path separator"),
    ("a..b", "'..'"),
    ("a\0b", "control"),
    ("a\nb", "control"),
    ("a" * (MAX_LENGTH + 1), "at most"),
    ("-rf", "start with a letter"),
    (".hidden", "start with a letter"),
    ("CON", "reserved"),
    ("nul.txt", "reserved"),
    ("Com1", "reserved"),
    ("a b", "letters, digits"),
    ("caf\u00e9", "letters, digits"),
    ("a\u2215b", "letters, digits"),  # DIVISION SLASH
])
def test_hostile_ids_are_refused_naming_id_and_rule(agent_id: str, rule: str) -> None:
    with pytest.raises(InvalidAgentId) as caught:
        validate_agent_id(agent_id)
    assert caught.value.agent_id == agent_id
    assert rule in caught.value.rule
    assert repr(agent_id) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_non_strings_are_refused() -> None:
    assert check_agent_id(42) == "must be a string, not int"


@given(hostile_agent_ids())
def test_every_generated_hostile_id_is_refused(hostile: HostileId) -> None:
    assert check_agent_id(hostile.materialize(Path("/world"))) is not None


@given(st.text(max_size=80))
def test_accepted_ids_name_a_direct_child(agent_id: str) -> None:
    if check_agent_id(agent_id) is not None:
        return
    agents = Path("/home/agents")
    joined = Path(os.path.normpath(agents / agent_id))
    assert joined.parent == agents and joined.name == agent_id
