"""Typed configuration: organisation-wide settings and one file per campaign.

Every model forbids unknown keys, so a typo is reported (with file and key)
instead of silently ignored. Secrets are never written in config: a setting
ending in ``_env`` names an environment variable and one ending in ``_file``
names a file that holds the secret.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..transforms.addresses import mailbox_problem
from ..transforms.money import NumberError, parse_number


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _address(value: object) -> object:
    """One plain mailbox (the same check as every send); the reason never repeats it."""
    if isinstance(value, str) and value.strip():
        why = mailbox_problem(value.strip())
        if why:
            raise ValueError(f"this must be one email address, and it {why}")
        return value.strip()
    return value


def _addresses(value: object) -> object:
    if not isinstance(value, list):
        return value
    out = []
    for i, v in enumerate(value, start=1):
        try:
            out.append(_address(v))
        except ValueError as exc:
            raise ValueError(f"entry {i}: {exc}") from None
    return out


# ---------------------------------------------------------------- organisation


class OrganisationInfo(_Model):
    name: str
    timezone: str = "Europe/London"
    admin_email: str = Field(description="Where repeated job failures are reported.")
    team_contact: str = Field("", description="How people can reach the recruitment team.")

    _email = field_validator("admin_email", mode="before")(_address)


class StorageConfig(_Model):
    backend: Literal["local", "google"] = "local"
    workspace: str = Field(
        "../workspace", description="Folder for local workbooks, relative to the config folder."
    )
    lock_timeout_seconds: float = 30.0


class GoogleConfig(_Model):
    account: Literal["person", "act_as", "shared_drive"] = Field(
        "shared_drive",
        description="Whose Google account the files live in: 'person' (a person signs in "
        "with 'corecruit google login'), 'act_as' (a service account acting as the person "
        "named in act_as) or 'shared_drive' (a service account, files in a shared drive "
        "folder: drive_folder_id).",
    )
    act_as: str = Field(
        "",
        description="With account = 'act_as': the Workspace account the service account acts as.",
    )
    oauth_client_file: str = Field(
        "", description="With account = 'person': the OAuth client (desktop app) JSON file."
    )
    token_file: str = Field(
        "../workspace/google-token.json",
        description="With account = 'person': where 'corecruit google login' keeps the sign-in.",
    )
    credentials_file: str = Field(
        "", description="Path to the service account key (JSON). Empty: use credentials_env."
    )
    credentials_env: str = "GOOGLE_APPLICATION_CREDENTIALS"
    max_retry_seconds: float = Field(120.0, gt=0, description="Give up retrying after this long.")
    max_attempts: int = Field(8, ge=1, le=20)
    drive_folder_id: str = Field("", description="Drive folder new spreadsheets are created in.")


class SmtpConfig(_Model):
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str = ""
    password_env: str = ""
    password_file: str = ""
    timeout_seconds: float = Field(30.0, gt=0, description="Give up on a silent server after this.")
    ca_file: str = Field(
        "", description="Extra certificate authority to trust (e.g. an internal server's own)."
    )


class MailConfig(_Model):
    transport: Literal["outbox", "smtp", "gmail"] = "outbox"
    from_address: str = "recruitment@example.org"
    from_name: str = "Recruitment team"
    reply_to: str = ""
    outbox: str = Field("../workspace/outbox", description="Folder for .eml files (outbox).")
    smtp: SmtpConfig = SmtpConfig()
    gmail_user: str = Field("me", description="Mailbox the Gmail API sends as.")
    templates: str = Field(
        "templates", description="Folder of the team's own email templates, checked first."
    )

    _emails = field_validator("from_address", "reply_to", mode="before")(_address)


class FormsConfig(_Model):
    backend: Literal["local", "google"] = "local"
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)
    public_url: str = Field(
        "", description="Address people use to reach the form server. Empty: http://host:port"
    )
    secret_env: str = "CORECRUIT_FORMS_SECRET"
    secret_file: str = Field(
        "", description="File holding the signing secret. Created on first use if missing."
    )
    link_days: int = Field(60, ge=1, le=365, description="How long a personal link works.")
    sends_per_hour: int = Field(
        20, ge=1, le=10000, description="Most times one form is stored in an hour (corrections)."
    )


class PrintConfig(_Model):
    """Printable score sheets and packs (HTML, and PDF through chromium)."""

    chromium: str = Field(
        "/usr/bin/chromium", description="The chromium used to print PDFs (Debian's by default)."
    )


class ScheduleConfig(_Model):
    """When the runner runs each job. Forms: 'every 10 minutes', 'hourly', 'daily at 09:00'."""

    redact: str = "every 60 minutes"
    forms_push: str = "every 60 minutes"
    forms_collect: str = "every 10 minutes"
    merge: str = "every 10 minutes"
    rewards: str = "daily at 22:00"
    remind: str = "daily at 09:00"
    timetable: str = "every 60 minutes"
    coprod: str = Field(
        "every 60 minutes",
        description="Bring in the co-production forms' answers (interest, questions, feedback).",
    )
    papers: str = Field(
        "every 60 minutes",
        description="Make papers to post for people the panel workbook cannot be shared with.",
    )
    failure_report_after: int = Field(3, ge=1, description="Email the admin after this many.")
    run_log_rows: int = Field(
        2000,
        ge=10,
        description="Rows the Run log tab keeps: the latest (older ones leave the tab when "
        "the workbook is next saved; corecruit's record keeps them as history until its "
        "usual tidying).",
    )


def _strict_number(v: object) -> object:
    """Amounts and hours in the policy by the one strict reader: no exponent, NaN or
    decimal comma, at most two figures after the point (the ``ge`` rules still apply)."""
    if v is None or isinstance(v, bool):
        return v
    try:
        return parse_number(v, places=2, currency=True)
    except NumberError as exc:
        raise ValueError(str(exc)) from None


class Rate(_Model):
    """What the policy pays for one activity: by the hour, or by the session."""

    unit: Literal["hour", "half day", "full day", "session"]
    amount: Decimal = Field(ge=0, description="Pounds for one hour or one session.")
    max_hours: Decimal | None = Field(None, ge=0, description="Most hours paid (unit 'hour').")
    max_hours_per: Literal["occasion", "campaign"] = Field(
        "occasion",
        description="Whether max_hours is for each time (a meeting) or for the whole campaign "
        "(shortlisting, which may be spread over several days).",
    )
    planned_hours: Decimal | None = Field(
        None,
        gt=0,
        description="Hours expected: used for estimates, and when a completed score form shows "
        "the work but no hours were claimed. Empty: max_hours.",
    )
    meal_provided: bool = Field(
        False, description="A meal is provided (e.g. lunch on interview days): no meal expenses."
    )
    description: str = Field("", description="The activity in plain words, for statements.")

    _numbers = field_validator("amount", "max_hours", "planned_hours", mode="before")(
        _strict_number
    )

    @property
    def expected_hours(self) -> Decimal | None:
        return self.planned_hours if self.planned_hours is not None else self.max_hours


class ExpenseRule(_Model):
    """How one kind of expense is repaid."""

    kind: Literal["travel", "mileage", "carer", "childcare", "meal"]
    receipt_required: bool = False
    cap: Decimal | None = Field(None, ge=0, description="Most paid for one claim, in pounds.")
    rate_per_mile: Decimal | None = Field(None, ge=0)
    description: str = Field("", description="The expense in plain words, for letters.")

    _numbers = field_validator("cap", "rate_per_mile", mode="before")(_strict_number)

    @model_validator(mode="after")
    def _mileage(self) -> ExpenseRule:
        if self.kind == "mileage" and self.rate_per_mile is None:
            raise ValueError('a mileage rule needs rate_per_mile (pounds a mile, e.g. "0.45")')
        return self


class RewardPolicy(_Model):
    """The Co-production recognition and reward policy, as numbers."""

    rates: dict[str, Rate] = Field(default_factory=dict)
    expenses: list[ExpenseRule] = Field(default_factory=list)
    period: Literal["week", "month", "tax year"] = "month"
    earnings_limit: Decimal | None = Field(
        None, ge=0, description="Warn staff before a person's payments pass this in a period."
    )
    earnings_warning_at: Decimal = Field(
        Decimal("0.8"),
        gt=0,
        le=1,
        description="Also tell staff when a person's payments in a period reach this share of "
        "their limit.",
    )
    earnings_include_vouchers: bool = Field(
        True, description="Count vouchers towards the earnings limit (expenses never count)."
    )

    _numbers = field_validator("earnings_limit", mode="before")(_strict_number)

    @field_validator("expenses")
    @classmethod
    def _one_rule_a_kind(cls, v: list[ExpenseRule]) -> list[ExpenseRule]:
        kinds = [e.kind for e in v]
        for k in kinds:
            if kinds.count(k) > 1:
                raise ValueError(f"the expense kind '{k}' has more than one rule")
        return v

    def expense(self, kind: str) -> ExpenseRule | None:
        for e in self.expenses:
            if e.kind == kind:
                return e
        return None


class OrganisationConfig(_Model):
    organisation: OrganisationInfo
    storage: StorageConfig = StorageConfig()
    google: GoogleConfig = GoogleConfig()
    mail: MailConfig = MailConfig()
    forms: FormsConfig = FormsConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    printing: PrintConfig = PrintConfig()
    rewards: RewardPolicy = RewardPolicy()
    jargon: list[str] = Field(
        default_factory=list, description="Words the plain-language check flags."
    )


# -------------------------------------------------------------------- campaign


class Scale(_Model):
    min: int = 0
    max: int = 4
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        for k in self.labels:
            if not k.lstrip("-").isdigit() or not self.min <= int(k) <= self.max:
                raise ValueError(f"label '{k}' is not a whole number from {self.min} to {self.max}")
        return self


class Criterion(_Model):
    id: str
    text: str
    essential: bool = True
    threshold: Decimal | None = Field(
        None, description="Below this (on the criterion's own scale) a candidate is flagged."
    )
    scale: Scale = Scale()


class Question(_Model):
    id: str
    text: str
    asker: str | None = Field(None, description="person_id of the panel member who asks it.")
    criteria: list[str] = Field(default_factory=list)
    scale: Scale = Scale()
    weight: Decimal = Field(Decimal(1), gt=0)
    panel: Literal["all", "council", "lived experience"] = Field(
        "all", description="Which panel scores it, when there are two panels."
    )


class CampaignDates(_Model):
    recruitment_agreed: dt.date
    shortlisting_opens: dt.date
    shortlisting_deadline: dt.date
    preparation_meeting: dt.datetime | None = None
    interview_days: list[dt.date] = Field(default_factory=list)
    decision_meeting: dt.datetime | None = None
    feedback_meeting: dt.datetime | None = None
    start_date: dt.date | None = None

    @model_validator(mode="after")
    def _order(self) -> CampaignDates:
        if self.shortlisting_deadline < self.shortlisting_opens:
            raise ValueError("shortlisting_deadline is before shortlisting_opens")
        return self


class InterviewPlan(_Model):
    """The shape of an interview day (the guidance's example is the default)."""

    arrival: dt.time = dt.time(9, 45)
    recap: dt.time = dt.time(10, 0)
    first_interview: dt.time = dt.time(10, 30)
    interview_minutes: int = Field(30, ge=30, le=45)
    slot_minutes: int = Field(60, ge=30, description="Interview, scoring and comfort break.")
    lunch: dt.time = dt.time(12, 30)
    lunch_minutes: int = Field(60, ge=0)
    max_per_day: int = Field(4, ge=1, le=4)
    decision_minutes: int = Field(30, ge=0)
    latest_finish: dt.time = Field(
        dt.time(17, 30), description="No interview day may end later than this."
    )
    venue: str = ""
    video_link: str = ""


class Merge(_Model):
    disagreement_gap: Decimal = Field(Decimal(20), ge=0, description="Points on the 0-100 scale.")
    carry_shortlisting_weight: Decimal = Field(
        Decimal(0),
        ge=0,
        le=1,
        description="Share of the shortlisting score carried into interviews.",
    )
    release_shortlisting_to_panel: bool = Field(
        True,
        description="Write shortlisting results (letters only) to the panel workbook once every "
        "shortlister has sent all their scores, or staff set 'released'.",
    )
    released: bool = Field(
        False,
        description="Staff release the results to the panels even though some scores are "
        "still missing (the panel workbook and the panel decision pack).",
    )
    reviewer_zscores: bool = Field(
        False,
        description="Also show a check ranking with each reviewer's scores standardised "
        "(z-scores), beside the equal-weighted result and never replacing it.",
    )


class ReminderRule(_Model):
    """One message: who gets it, about which event, and how many days before or after it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    template: str
    audience: Literal[
        "pwle",
        "panel",
        "shortlisters",
        "interviewers",
        "candidates",
        "everyone",
        "new worker",
        "admin",
    ]
    event: str = Field(
        description="A date from the dates tab (e.g. 'interview day'), 'check-in', "
        "'interview' (each candidate's own), 'invited', 'offer answered', or 'campaign end' "
        "(the last interview day or the decision meeting, whichever is later; for the "
        "rewards statement, template 'rewards/statement', audience 'pwle', days_after N)."
    )
    days_before: int = Field(0, ge=0)
    days_after: int = Field(0, ge=0)
    catch_up_days: int = Field(
        2, ge=0, description="If corecruit could not run on the day, send this many days late."
    )

    @model_validator(mode="after")
    def _one_side(self) -> ReminderRule:
        if self.days_before and self.days_after:
            raise ValueError("give days_before or days_after, not both")
        return self


class ExtraEvidence(_Model):
    """A lived-experience reviewer's view on a candidate's work (e.g. a portfolio)."""

    counts_in_score: bool = Field(
        False,
        description="Count the reviewers' scores in the overall score (shown beside it always).",
    )
    share: Decimal = Field(
        Decimal("0.2"),
        gt=0,
        lt=1,
        description="When it counts: the share of the overall score the evidence carries.",
    )
    scale: Scale = Scale()


class CampaignInfo(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    title: str
    post: str
    team: str
    summary: str
    panel_mode: Literal["mixed", "separate"] = "separate"
    letter_order: Literal["shuffled", "submission"] = "shuffled"
    seed: int = Field(0, description="Seeds the shuffled letter order; keep it once letters exist.")
    question_by_question: bool = True
    own_name_as: Literal["letter", "the candidate"] = Field(
        "letter",
        description="What the candidate's own name becomes in their answers: 'Candidate A' "
        "(letter) or 'the candidate'.",
    )
    require_review: bool = Field(
        True,
        description="Hold each application from the panel (panel workbook, sharing, score "
        "forms, links) until a member of staff has filled in 'Reviewed by' on its row of the "
        "Redaction report. Staff read what the job took out before anyone on a panel sees "
        "the text; false only for invented test data.",
    )


class GoogleFiles(_Model):
    staff_spreadsheet_id: str = ""
    panel_spreadsheet_id: str = ""
    staff_editors: list[str] = Field(
        default_factory=list, description="Staff email addresses that may open the staff workbook."
    )

    _emails = field_validator("staff_editors", mode="before")(_addresses)


class CampaignConfig(_Model):
    campaign: CampaignInfo
    dates: CampaignDates
    criteria: list[Criterion]
    questions: list[Question] = Field(default_factory=list)
    interviews: InterviewPlan = InterviewPlan()
    merge: Merge = Merge()
    extra_evidence: ExtraEvidence = ExtraEvidence()
    reminders: list[ReminderRule] = Field(default_factory=list)
    google: GoogleFiles = GoogleFiles()
    header_map: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per tab: your sheet's header -> corecruit column id, to keep your own sheet.",
    )

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, v: list[Criterion]) -> list[Criterion]:
        if not v:
            raise ValueError("a campaign needs at least one job criterion")
        ids = [c.id for c in v]
        if len(set(ids)) != len(ids):
            raise ValueError("criterion ids must be different from each other")
        return v

    @model_validator(mode="after")
    def _refs(self) -> CampaignConfig:
        crit = {c.id for c in self.criteria}
        qids = [q.id for q in self.questions]
        if len(set(qids)) != len(qids):
            raise ValueError("question ids must be different from each other")
        for q in self.questions:
            for c in q.criteria:
                if c not in crit:
                    raise ValueError(
                        f"question '{q.id}' names criterion '{c}', which is not listed"
                    )
        return self

    @property
    def id(self) -> str:
        return self.campaign.id
