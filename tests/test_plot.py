"""`kerasspec plot`: real pictures through Keras and Graphviz, and Mermaid parsed back."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from conftest import SPECS, assert_located_error, column_of

pytest.importorskip("keras")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TICKET_LAYERS = [
    ("title", " (InputLayer)"),
    ("text_body", " (InputLayer)"),
    ("tags", " (InputLayer)"),
    ("features", " (Concatenate)"),
    ("hidden", " (Dense)"),
    ("priority", " (Dense)"),
    ("department", " (Dense)"),
]


@pytest.fixture
def require_dot():
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is missing in CI: scripts/dev.sh should have installed it")
        pytest.skip("Graphviz's dot is not installed here")


@pytest.mark.parametrize("spec", ["ticket_classifier.yaml", "autoencoder.yaml"])
def test_png_is_a_real_picture(cli, tmp_path, require_dot, spec):
    target = tmp_path / "model.png"
    result = cli("plot", SPECS / spec, "-o", target, "--expand-nested")
    assert result.exit_code == 0, result.stderr
    data = target.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert result.stdout == f"wrote {target} (png, {len(data):,} bytes)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.png"]  # no temporary file left


def test_svg_and_pdf_name_the_layers(cli, tmp_path, require_dot):
    svg = tmp_path / "t.svg"
    assert cli("plot", SPECS / "ticket_classifier.yaml", "-o", svg).exit_code == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    # Each node's label is two <text> elements: the layer's name, then " (Type)".
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", text)
    nodes = sorted((name, kind) for name, kind in zip(texts, texts[1:]) if re.fullmatch(r" \(\w+\)", kind))
    assert nodes == sorted(TICKET_LAYERS)
    pdf = tmp_path / "t.pdf"
    assert cli("plot", SPECS / "autoencoder.yaml", "-o", pdf).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_format_overrides_the_extension(cli, tmp_path, require_dot):
    target = tmp_path / "picture.out"
    result = cli("plot", SPECS / "ticket_classifier.yaml", "-o", target, "--format", "svg")
    assert result.exit_code == 0, result.stderr
    assert "<svg" in target.read_text()


def test_dot_names_the_layers_without_graphviz(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program reachable
    target = tmp_path / "t.dot"
    result = cli("plot", SPECS / "autoencoder.yaml", "-o", target, "--expand-nested")
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert text.startswith("digraph")
    labels = re.findall(r"<b>(\w+)</b> \((\w+)\)", text)  # each node's HTML label: <b>name</b> (Type)
    assert sorted(labels) == sorted(
        [
            ("image", "InputLayer"),
            ("enc_hidden", "Dense"),
            ("code", "Dense"),
            ("dec_hidden", "Dense"),
            ("reconstruction", "Dense"),
        ]
    )
    assert sorted(re.findall(r"^label=(\w+);$", text, re.M)) == ["decoder", "encoder"]  # nested models, expanded


def test_png_without_graphviz_is_one_clear_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / "t.png"
    result = cli("plot", SPECS / "ticket_classifier.yaml", "-o", target)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.splitlines()[0]
        == f"{target}: error: PNG output needs Graphviz's `dot` program, which is not installed"
    )
    assert "--format mermaid" in result.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == []


NODE = re.compile(r'^\s*(?:subgraph\s+)?(n\d+)\["([^"]*)"\]\s*$')
EDGE = re.compile(r"^\s*(n\d+) --> (n\d+)\s*$")


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[0] in ("flowchart TB", "flowchart LR")
    nodes, edges = {}, []
    for line in lines[1:]:
        if line.strip() == "end":
            continue
        if m := NODE.match(line):
            nodes[m.group(1)] = m.group(2).split("<br/>")[0]
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            pytest.fail(f"unexpected Mermaid line: {line!r}")
    return nodes, edges


@pytest.mark.parametrize(
    "spec", ["ticket_classifier.yaml", "siamese_similarity.yaml", "seq2seq.yaml", "autoencoder.yaml"]
)
def test_mermaid_has_every_layer_and_connection(cli, spec):
    result = cli("plot", SPECS / spec, "--format", "mermaid", "-o", "-")
    assert result.exit_code == 0, result.stderr
    nodes, edges = parse_mermaid(result.stdout)
    document = json.loads(cli("summary", "--json", SPECS / spec).stdout)
    layer_names = [row["name"] for row in document["layers"]]
    assert sorted(nodes.values()) == sorted(layer_names)  # one node per layer, shared layers once
    by_name = {name: node for node, name in nodes.items()}
    expected = sorted((source, row["name"]) for row in document["layers"] for source in _inbound_layers(row, document))
    assert sorted((nodes[a], nodes[b]) for a, b in edges) == expected
    assert all(n in by_name.values() for pair in edges for n in pair)


def _inbound_layers(row: dict, document: dict) -> list[str]:
    """Summary names tensors by spec reference (embed_right, enc[1]); map them to layer names."""
    reuse_of = {"embed_right": "embed", "encode_right": "encode"}
    return [reuse_of.get(name, name).split("[")[0] for name in row["inbound"]]


def test_mermaid_nested_subgraph_and_shared_layer(cli):
    text = cli("plot", SPECS / "autoencoder.yaml", "--format", "mermaid", "-o", "-", "--expand-nested").stdout
    assert re.search(r'^  subgraph n\d+\["encoder<br/>Sequential', text, re.M)
    assert "enc_hidden<br/>Dense<br/>(None, 128)" in text
    siamese = cli("plot", SPECS / "siamese_similarity.yaml", "--format", "mermaid", "-o", "-").stdout
    nodes, edges = parse_mermaid(siamese)
    embed = next(n for n, name in nodes.items() if name == "embed")
    assert sorted(nodes[a] for a, b in edges if b == embed) == ["left", "right"]


def test_mermaid_ids_are_safe_for_any_layer_name(cli, write_spec):
    path = write_spec("name: odd\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, name: 'a\"<b>|{c}#1', units: 2}\n")
    text = cli("plot", path, "--format", "mermaid", "-o", "-").stdout
    nodes, _ = parse_mermaid(text)
    assert "a#34;#60;b#62;#124;#123;c#125;#35;1" in nodes.values()


def test_existing_file_is_not_overwritten_without_force(cli, tmp_path):
    target = tmp_path / "t.mmd"
    target.write_text("precious")
    result = cli("plot", SPECS / "ticket_classifier.yaml", "-o", target)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{target}: error: file exists; pass --force to overwrite it")
    assert target.read_text() == "precious"
    assert cli("plot", SPECS / "ticket_classifier.yaml", "-o", target, "--force").exit_code == 0
    assert target.read_text().startswith("flowchart TB")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mmd"]


def test_default_file_name_is_the_model_name(cli, tmp_path, monkeypatch, require_dot):
    monkeypatch.chdir(tmp_path)
    result = cli("plot", SPECS / "ticket_classifier.yaml")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "ticket_classifier.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    "args, source, message",
    [
        (["-o", "x.gif"], "x.gif", "cannot tell the format from 'x.gif'"),
        (["--format", "jpeg"], "--format", "unknown format 'jpeg'; use one of png, svg, pdf, dot, mermaid"),
        (
            ["-o", "-", "--format", "png"],
            "-o",
            "PNG cannot go to standard output; give -o FILE, or use --format dot or mermaid",
        ),
        (["--rankdir", "BT"], "--rankdir", "bad --rankdir 'BT': use TB or LR"),
    ],
)
def test_bad_plot_options(cli, args, source, message):
    result = cli("plot", SPECS / "ticket_classifier.yaml", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{source}: error: {message}"


def test_plot_reports_spec_errors_first(cli, write_spec):
    text = "name: x\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 2, activation: rleu}\n"
    path = write_spec(text)
    assert_located_error(
        cli("plot", path, "-o", "-", "--format", "mermaid"),
        path,
        4,
        column_of(text, 4, "rleu"),
        "unknown activation 'rleu'; did you mean 'relu'?",
    )
