"""The scenario language: valid loads, extends, overrides, and the bad-input corpus."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario import ScenarioError, deep_merge, load_scenario
from sim.scenario.priors import load_priors

from .conftest import BASELINE, DATA, ROOT

BAD = sorted((DATA / "bad").glob("*.toml"))


def _expectation(path: Path) -> tuple[str, str]:
    m = re.search(r"^# expect: (.*?) \| (.*)$", path.read_text(), re.M)
    assert m, f"{path.name} has no '# expect: KEY | PROBLEM' line"
    return m.group(1).strip(), m.group(2).strip()


def test_corpus_is_large_enough() -> None:
    assert len(BAD) >= 80


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_scenario_gives_one_clear_message(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, problem = _expectation(path)
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert path.name in lines[0] or "cyclic_b.toml" in lines[0]
    assert f": {key}:" in lines[0] if key else True
    assert problem in lines[0], lines[0]
    assert out == ""


@pytest.mark.parametrize("path", BAD[:5], ids=[p.stem for p in BAD[:5]])
def test_bad_scenario_writes_nothing(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", "1", "--out", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_error_names_the_file_that_wrote_the_key(tmp_path: Path) -> None:
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{(DATA / "tiny.toml").as_posix()}"\nname = "child"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child, ["bodies.WP.capacity=0"])
    assert info.value.file == "--set"
    assert info.value.key == "bodies.WP.capacity"


def test_directory_and_non_utf8_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(ScenarioError, match=r"not UTF-8|invalid TOML"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("horizon_days.x=3", "is a value, not a table"),
        ("bodies.WP.nonsense=1", "unknown key"),
        ("=3", "expected KEY.PATH=VALUE"),
        ("horizon_days", "expected KEY.PATH=VALUE"),
        ("member_defaults.salience=2", "less than or equal to 1"),
        (
            'proposal_types.item.rule="qvm"',
            "unknown decision rule 'qvm' (known: 'unanimity', 'qmv') (did you mean 'qmv'?)",
        ),
        ("member_states.aa.salience=0.5", "codes are 2-3 capital letters"),
        ("a." * 40 + "b=1", "more than 32 key parts"),
        ("a=" + "[" * 3000 + "]" * 3000, "value nested too deeply"),
        ("a=" + "[" * 40 + "]" * 40, "nested deeper than 32 levels"),
        ('member_defaults.instruction_delay.value="1.5"', "Input should be a valid number"),
    ],
)
def test_bad_set_override(override: str, problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "tiny.toml"), "--set", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set")
    assert problem in err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_priors_file_that_is_not_a_regular_file_is_refused_at_once(
    kind: str, tmp_path: Path
) -> None:
    """A FIFO would hang a reader and /dev/zero would fill memory: both refused unread."""
    path = Path("/dev/zero")
    if kind == "fifo":
        path = tmp_path / "priors.toml"
        os.mkfifo(path)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_priors(path, None)


def test_override_applies_before_validation() -> None:
    s = load_scenario(DATA / "tiny.toml", ["bodies.WP.capacity=9", "name=renamed run"])
    assert s.bodies["WP"].capacity == 9
    assert s.name == "renamed run"


def test_extends_merges_tables_by_id(tmp_path: Path) -> None:
    child = tmp_path / "child.toml"
    child.write_text(
        f'extends = "{BASELINE.as_posix()}"\nname = "variant"\n'
        "[member_states.HU]\nholdout_probability = 0.5\n"
        "[bodies.PSC]\ncapacity = 3\n"
    )
    s = load_scenario(child)
    base = load_scenario(BASELINE)
    assert s.member_states["HU"].holdout_probability == 0.5
    assert s.member_states["HU"].positions == base.member_states["HU"].positions
    assert s.bodies["PSC"].capacity == 3
    assert s.bodies["PSC"].calendar == base.bodies["PSC"].calendar


def test_deep_merge_replaces_lists() -> None:
    assert deep_merge({"a": [1, 2], "b": {"c": 1}}, {"a": [3]}) == {"a": [3], "b": {"c": 1}}


def test_resolved_scenario_round_trips(tmp_path: Path) -> None:
    s = load_scenario(BASELINE)
    out = tmp_path / "resolved.toml"
    out.write_text(s.to_toml())
    again = load_scenario(out)
    assert again == s
    assert again.sha256() == s.sha256()


def test_eu27_reference_data() -> None:
    s = load_scenario(BASELINE)
    members = s.resolved_members()
    assert len(members) == 27
    assert len({m.code for m in members}) == 27
    pops = {m.code: m.population for m in members}
    total = sum(pops.values())
    assert pops["DE"] / total == pytest.approx(0.1849, abs=1e-4)
    assert pops["MT"] / total == pytest.approx(0.0012, abs=1e-4)


def test_every_bundled_scenario_validates(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [p for p in sorted((ROOT / "scenarios").glob("*.toml")) if p.name.count(".") == 1]
    assert paths
    assert main(["validate", *map(str, paths)]) == 0
    assert capsys.readouterr().out.count("ok:") == len(paths)


def test_scenarios_command_lists_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "  eu27_baseline  " in out
    assert "unanimity" in out
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert len(names) == len(
        [p for p in (ROOT / "scenarios").glob("*.toml") if p.name.count(".") == 1]
    )
    assert main(["validate", *names]) == 0  # every listed name is accepted


def test_unknown_key_suggests_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "eu27_baseline"\nname = "mine"\n[bodies.PSC]\ncapcity = 3\n')
    assert main(["validate", str(mine)]) == 2
    assert "bodies.PSC.capcity: unknown key (did you mean 'capacity'?)" in capsys.readouterr().err
    assert main(["validate", "eu27_baseline", "--set", "decision_rules.qmv.states_treshold=1"]) == 2
    assert "did you mean 'states_threshold'?" in capsys.readouterr().err


def test_user_mistakes_on_the_command_line_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new user's slips: each one message, exit status 2, no traceback."""
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "eu27_basline"\nname = "mine"\n')
    for argv, message in (
        (["validate", str(mine)], "extends: file not found: "),
        (["validate", str(mine)], "(did you mean 'eu27_baseline'?)"),
        (["run", "eu27_baseline", "--seed", "abc"], "--seed: expected a whole number, got 'abc'"),
        (["run", "eu27_baseline", "-n", "1", "--out", "/proc/nope"], "cannot write there"),
        (
            ["run", "eu27_baseline", "-n", "1", "--posterior", str(tmp_path / "none")],
            "no such calibration folder",
        ),
    ):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's own errors
            status = exc.code
        assert status == 2
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err


def test_bundled_names_and_extends_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_scenario("qmv_art31") == load_scenario(ROOT / "scenarios" / "qmv_art31.toml")
    (tmp_path / "mine.toml").write_text('extends = "qmv_art31"\nname = "mine"\n')
    assert load_scenario("mine.toml").decision_rules == load_scenario("qmv_art31").decision_rules
    with pytest.raises(ScenarioError, match=r"no bundled scenario 'qmv_art13' \(did you mean"):
        load_scenario("qmv_art13")


def test_missing_optional_dependency_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # as if the dask extra were not installed
    out = tmp_path / "out"
    assert main(["run", "eu27_baseline", "-n", "1", "--dask", "local", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'cfsp-sim[dask]'" in err
    assert "in a checkout: .venv/bin/pip install -e '.[dask]'" in err
    assert not out.exists()


def test_every_argument_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        assert "examples:" in (command.epilog or ""), name
        for action in command._actions:
            assert action.help, f"{name} {action.dest} has no help"


def test_sources_are_in_the_repository_not_in_shared_notes() -> None:
    sources = ROOT / "sim" / "data" / "SOURCES.md"
    assert "## Decision rules (exact)" in sources.read_text()
    for path in [ROOT / "README.md", *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("sim/data/*")]:
        assert "shared/DOMAIN.md" not in path.read_text(), path
        assert "shared DOMAIN.md" not in path.read_text(), path


def test_scenarios_copy_writes_every_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine"
    assert main(["scenarios", "--copy", str(target)]) == 0
    copied = sorted(p.name for p in target.glob("*.toml"))
    assert copied == sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
    (target / "qmv_art31.toml").write_text("# edited\n")
    assert main(["scenarios", "--copy", str(target)]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert (target / "qmv_art31.toml").read_text() == "# edited\n"  # nothing overwritten
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert main(["scenarios", "--copy", str(a_file)]) == 2


def test_power_suggests_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["power", "eu27_baseline", "--rule", "qvm"]) == 2
    assert "did you mean 'qmv'" in capsys.readouterr().err


def test_a_bundled_name_beside_a_results_folder_of_that_name_means_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run writes ``eu27_baseline/`` into the working folder; ``run eu27_baseline`` from
    there must still find the bundled scenario, not the folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu27_baseline").mkdir()
    assert load_scenario("eu27_baseline").name == "eu27_baseline"
    (tmp_path / "mine").mkdir()  # a folder that names no bundled scenario stays an error
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario("mine")
