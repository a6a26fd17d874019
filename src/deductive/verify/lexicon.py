"""Regular-expression pieces for one puzzle's names, and entity text -> `Ref`.

Clue sentences are matched against templates built from the names the prompt lists (longest
name first), never against open-ended wildcards, so a sentence either reads one way or is
rejected. Every template is a full match over one sentence.
"""

from __future__ import annotations

import re

from deductive.verify.constraints import BODDY, Ref


def _alternation(names: list[str]) -> str:
    if not names:
        return r"(?!x)x"  # matches nothing
    return "(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + ")"


class Lexicon:
    def __init__(self, suspects: list[str], weapons: list[str], rooms: list[str],
                 times: list[str], motives: list[str], *, indefinite_motive: bool):
        self.suspects, self.weapons, self.rooms = suspects, weapons, rooms
        self.times, self.motives = times, motives
        self.SUS = _alternation(suspects)
        self.WEA = _alternation(weapons)
        self.ROOM = _alternation(rooms)
        self.TIME = _alternation(times)
        self.MOT = _alternation(motives)
        article = r"(?i:the|a)" if indefinite_motive else r"(?i:the)"
        self._motive_ref = re.compile(rf"{article} suspect motivated by (?P<m>{self.MOT})")
        self._weapon_ref = re.compile(rf"(?i:the) (?P<w>{self.WEA})")
        # A suspect-like entity, a weapon-like entity, any entity (piece or description).
        self.SUSPECT_LIKE = (rf"(?:(?i:the) murderer|{article} suspect motivated by {self.MOT}"
                             rf"|{self.SUS})")
        self.WEAPON_LIKE = rf"(?:(?i:the) murder weapon|(?i:the) {self.WEA})"
        self.ENTITY = rf"(?:{self.SUSPECT_LIKE}|{self.WEAPON_LIKE}|{re.escape(BODDY)})"

    def ref(self, text: str) -> Ref:
        """The `Ref` an entity span (matched by one of the patterns above) stands for."""
        low = text.lower()
        if low == "the murderer":
            return Ref("murderer")
        if low == "the murder weapon":
            return Ref("murder_weapon")
        if text == BODDY:
            return Ref("boddy")
        if text in self.suspects:
            return Ref("suspect", text)
        m = self._motive_ref.fullmatch(text)
        if m:
            return Ref("motive", m["m"])
        m = self._weapon_ref.fullmatch(text)
        if m:
            return Ref("weapon", m["w"])
        raise ValueError(f"not an entity: {text!r}")  # unreachable for matched spans
