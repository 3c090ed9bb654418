"""Keypresses of an Asterisk survey call, as AMI reports them: the survey IVR's menu choices set channel
variables (HOTLINE_SURVEY_SOLVED, HOTLINE_SURVEY_SCORE), each a `VarSet` event on the survey call, whose
Uniqueid we chose at the Originate (`hotline-survey-<survey>-<round>-<try>`)."""

from __future__ import annotations

import logging

from hotline.domain.surveys import SurveyError, Way
from hotline.services.surveys.calls import VARIABLES, survey_of_channel
from hotline.services.surveys.desk import SurveyDesk, SurveyNotFound
from hotline.services.surveys.keypress import SurveyKeypress

__all__ = ["SurveyKeypress", "is_survey_variable", "record_keypress"]

log = logging.getLogger(__name__)


def is_survey_variable(variable: str | None) -> bool:
    return variable in VARIABLES


def record_keypress(desk: SurveyDesk, key: SurveyKeypress) -> bool:
    """Store the answer; False (and a warning) when the event is not a survey call's or comes too late."""
    found = survey_of_channel(key.uniqueid)
    question = VARIABLES.get(key.variable)
    if found is None or question is None:
        return False
    survey, round_no, try_no = found
    try:
        desk.keypress(survey, None, question, key.value, Way.ASTERISK, attempt=(round_no, try_no))
    except (SurveyError, SurveyNotFound) as e:
        log.warning("回访按键被忽略 / survey keypress ignored (call %s, %s): %s", key.uniqueid, key.variable, e)
        return False
    return True
