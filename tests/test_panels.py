"""Panel composition warnings for `corecruit check`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.config import CampaignConfig, Settings
from automations.context import Context
from automations.transforms.panels import panel_problems
from tests.remind_support import set_cell

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def camp(settings: Settings) -> CampaignConfig:
    return settings.campaign(None)


@pytest.fixture
def people() -> pd.DataFrame:
    df = pd.read_csv(ROOT / "sheets_templates/example/people.csv", dtype=str).fillna("")
    df.index = pd.Index(range(2, len(df) + 2), name="row")
    return df


def texts(camp: CampaignConfig, people: pd.DataFrame) -> list[str]:
    probs = panel_problems(camp, people)
    assert all(p.severity == "warning" for p in probs)
    return [str(p) for p in probs]


def test_the_example_panel_follows_the_guidance(camp: CampaignConfig, people: pd.DataFrame) -> None:
    assert texts(camp, people) == []


def test_too_few_and_too_many_people_with_lived_experience(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    few = people[~people["person_id"].isin(["p06", "p07"])]
    [w] = [t for t in texts(camp, few) if "3 to 4" in t]
    assert "2 people with lived experience are down" in w
    more = pd.concat([people, people[people["person_id"] == "p07"].assign(person_id="p09")])
    assert any("5 people" in t and "3 to 4" in t for t in texts(camp, more))


def test_nobody_with_experience_of_the_team(camp: CampaignConfig, people: pd.DataFrame) -> None:
    people.loc[people["person_id"] == "p03", "team_experience"] = "FALSE"
    [w] = [t for t in texts(camp, people) if "Support from this team" in t]
    assert "Community Mental Health Team" in w and "at least one" in w


def test_shortlisters_who_do_not_interview(camp: CampaignConfig, people: pd.DataFrame) -> None:
    people.loc[people["person_id"] == "p06", "interviews"] = "FALSE"
    got = texts(camp, people)
    assert any(
        "same people who interview" in t and "p06 shortlists but will not interview" in t
        for t in got
    )
    # p06 also asks q5 but no longer interviews
    assert any("q5" in t and "not down to interview" in t for t in got)


def test_supporting_worker_without_training_or_scoring(
    camp: CampaignConfig, people: pd.DataFrame
) -> None:
    people.loc[people["person_id"] == "p04", ["training_completed", "interviews"]] = ["", "TRUE"]
    got = texts(camp, people)
    assert any(
        "row 5" in t
        and "Recruitment training done" in t
        and "recruitment and selection training" in t
        for t in got
    )
    assert any("p04 is a supporting worker and is marked" in t for t in got)


def test_question_askers_and_chair(camp: CampaignConfig, people: pd.DataFrame) -> None:
    qs = list(camp.questions)
    qs[1] = qs[1].model_copy(update={"asker": None})
    qs[2] = qs[2].model_copy(update={"asker": "p01"})
    c2 = camp.model_copy(update={"questions": qs})
    people.loc[people["person_id"] == "p01", "role"] = "panel member"
    got = texts(c2, people)
    assert any("question q2 has nobody to ask it" in t and "row 3" in t for t in got)
    assert any("p01 is down to ask 2 questions (q1, q3)" in t for t in got)
    assert any("Nobody is set as chair" in t for t in got)


def test_check_command_shows_the_warnings(ctx: Context, config_dir: Path) -> None:
    set_cell(ctx, "people", {"person_id": "p04"}, training_completed=False)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "check"])
    assert r.exit_code == 0, r.output
    where = "Warning: staff workbook, tab 'People', row 5, column 'Recruitment training done'"
    assert where in r.output
    assert "Helen" not in r.output
