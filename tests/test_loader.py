"""The positioned safe loader: tags, bombs, depth, encodings, empty files, merges."""

from __future__ import annotations

import re

import pytest
from conftest import assert_located_error, position

from kerasspec.errors import SpecError
from kerasspec.loader import MAX_DEPTH, MAX_VALUES, PList, PMap, apply_override, load_text


def test_every_value_knows_its_line_and_column():
    tree = load_text("name: a\nlayers:\n  - {type: Dense, units: 4}\n  - type: Dense\n    units: 2\n", "s.yaml")
    assert isinstance(tree, PMap) and isinstance(tree["layers"], PList)
    assert str(tree.key_mark("layers")) == "s.yaml:2:1"
    assert str(tree["layers"].value_mark(1)) == "s.yaml:4:5"
    assert str(tree["layers"][0].value_mark("units")) == "s.yaml:3:26"
    assert str(tree["layers"][1].key_mark("units")) == "s.yaml:5:5"


def test_scientific_notation_is_a_float():
    assert load_text("l2: 1e-4\nlr: 3E-2\n", "s.yaml") == {"l2": 1e-4, "lr": 3e-2}


def test_dates_stay_text():
    assert load_text("when: 2024-01-01\n", "s.yaml") == {"when": "2024-01-01"}


def test_merge_keys_fill_in_without_overriding():
    tree = load_text("base: &b {units: 4, activation: relu}\nlayer:\n  <<: *b\n  units: 8\n", "s.yaml")
    assert tree["layer"] == {"units": 8, "activation": "relu"}


def test_python_tag_is_refused_and_nothing_runs(cli, write_spec, tmp_path):
    marker = tmp_path / "pwned"
    path = write_spec(f"name: x\nlayers: !!python/object/apply:os.system ['touch {marker}']\n")
    result = cli("validate", path)
    assert_located_error(result, path, 2, 9, "YAML tag '!!python/object/apply:os.system' is not allowed")
    assert not marker.exists()


@pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!binary", "!!set", "!custom"])
def test_other_constructing_tags_are_refused(tag):
    with pytest.raises(SpecError, match="is not allowed") as info:
        load_text(f"a: {tag} x\n", "s.yaml")
    assert info.value.code == "yaml-tag" and position(info.value) == (1, 4)


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_the_alias(cli, write_spec):
    path = write_spec(billion_laughs())
    result = cli("validate", path)
    assert_located_error(result, path, 6, 14, f"the document expands past {MAX_VALUES:,} values through aliases")


def test_small_aliases_are_fine():
    tree = load_text("d: &d {units: 4}\nx: *d\ny: *d\n", "s.yaml")
    tree["x"]["units"] = 5
    assert tree["y"]["units"] == 4  # expanded copies, not shared objects


@pytest.mark.parametrize("style", ["flow", "block"])
def test_ten_thousand_deep_nesting_is_refused(cli, write_spec, style):
    if style == "flow":  # libyaml's own flow-depth limit answers first, at the 1001st '['
        text, where = "a: " + "[" * 10000 + "]" * 10000 + "\n", (1, 1003)
    else:  # nested block sequences on one line: "- - - ... x"
        text, where = "a:\n  " + "- " * 10000 + "x\n", (2, 3 + 2 * (MAX_DEPTH - 1))
    path = write_spec(text)
    result = cli("validate", path)
    assert result.exit_code == 2
    line = result.stderr.splitlines()[0]
    assert line.startswith(f"{path}:{where[0]}:{where[1]}: error: ")
    assert "nesting" in line or "depth" in line


def test_non_utf8_bytes(cli, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9\nlayers: []\n")
    assert_located_error(cli("validate", path), path, 2, 17, "file is not UTF-8 text: byte 0xe9 cannot be decoded")


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(cli, tmp_path, content):
    path = tmp_path / "empty.yaml"
    path.write_text(content)
    assert_located_error(cli("validate", path), path, 1, 1, "the spec is empty")


def test_scalar_top_level(cli, write_spec):
    path = write_spec("just text\n")
    assert_located_error(
        cli("validate", path),
        path,
        1,
        1,
        "the top level of a spec must be a mapping (name:, layers:, ...), found a str value",
    )


def test_second_document_is_refused(cli, write_spec):
    path = write_spec("name: x\n---\nname: y\n")
    assert_located_error(cli("validate", path), path, 2, 1, "a spec is one YAML document; a second one starts here")


def test_nul_character(cli, tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"name: x\x00\n")
    assert_located_error(
        cli("validate", path), path, 1, 8, "YAML syntax error: character U+0000 is not allowed in a YAML file"
    )


def test_override_by_index_name_and_new_key():
    tree = load_text("name: a\nlayers:\n  - {type: Dense, name: hidden, units: 4}\n", "s.yaml")
    apply_override(tree, "layers.hidden.units=128")
    apply_override(tree, "layers[0].activation=relu")
    apply_override(tree, "train.epochs=3")
    assert tree["layers"][0] == {"type": "Dense", "name": "hidden", "units": 128, "activation": "relu"}
    assert tree["train"] == {"epochs": 3}
    assert str(tree["layers"][0].value_mark("units")) == "--set layers.hidden.units=128:1:21"


@pytest.mark.parametrize(
    "item, where, message",
    [
        ("layers.5.units=3", "1:8", "layers has no item '5' (it has 1 item)"),
        ("name.x=3", "1:6", "cannot set 'x' inside name: it is a single value, not a mapping or list"),
        ("units", "1:1", "--set expects KEY=VALUE, got 'units'"),
        ("train.epochs=[1", "1:16", "YAML syntax error"),
    ],
)
def test_bad_override_is_located_in_the_option(item, where, message):
    tree = load_text("name: a\nlayers:\n  - {type: Dense, units: 4}\n", "s.yaml")
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        apply_override(tree, item)
    assert info.value.render().startswith(f"--set {item}:{where}: error: {message}")


def test_file_too_large(cli, tmp_path, monkeypatch):
    import kerasspec.loader as loader

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("name: x\nlayers: []\n")
    assert_located_error(cli("validate", path), path, 1, 1, "file is 19 bytes; a spec may be at most 10")
