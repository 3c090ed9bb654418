"""A survey call's keypress as the AMI listener hands it over (kept light: the listener imports it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyKeypress:
    uniqueid: str  # the survey call's Uniqueid: hotline-survey-<survey>-<round>-<try>
    variable: str  # HOTLINE_SURVEY_SOLVED or HOTLINE_SURVEY_SCORE
    value: str
