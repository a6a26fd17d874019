"""The puzzle text, exactly as docs/puzzle-format.md lays it out."""

from __future__ import annotations

from deductive.puzzles.clues import Clue, sentence
from deductive.puzzles.world import World

INTRO = (
    "Mr. Boddy, the host of a dinner party at Tudor Mansion, was found dead in the early hours of\n"
    "the morning. Work out who killed him, with which weapon, in which room, at what time and for\n"
    "what motive, using only the rules and clues below. Exactly one account of the night agrees\n"
    "with all of them."
)

RULES = {
    "steps": "At each listed time after the first, every suspect and Mr. Boddy either stays in the same room or moves to a room adjacent on the map (one step north, south, east or west).",
    "weapons": "A weapon never moves by itself: it moves from a room to an adjacent room at a given time only if some suspect makes that same move at that time, and otherwise stays where it was.",
    "murder": "The murder happened at one of the listed times, in a room where the murderer, Mr. Boddy and the murder weapon were together and no other suspect was present.",
    "body": "From the time of the murder on, Mr. Boddy's body stays in the murder room; a clue about Mr. Boddy means him or his body.",
    "or": '"Either X or Y" means that exactly one of X and Y is true.',
    "iff": '"X if and only if Y" means that X and Y are both true or both false.',
    "motive": '"The suspect motivated by M" means a suspect whose motive is M; when several suspects share M, the clue is true if it holds for at least one of them.',
    "move": '"X moved from A to B at T" means X was in A at the time listed just before T and in B at T.',
    "weapon_move": '"S moved the W from A to B at T" means S and the W were both in A at the time listed just before T and both in B at T.',
    "together": '"X and Y were together in R at least once" means that at some listed time both were in R.',
    "spatial": '"X was in the room directly north of Y at T" means that at T, X\'s room is the room immediately north of Y\'s room on the map (likewise south, east and west).',
}
_ONE_TIME_OMITS = ("steps", "move", "weapon_move")

MAIN_QUESTIONS = {
    "murderer": ("Who killed Mr. Boddy?", "SUSPECT"),
    "weapon": ("Which weapon was used?", "WEAPON"),
    "room": ("In which room did the murder take place?", "ROOM"),
    "time": ("At what time did the murder take place?", "TIME"),
    "murder_motive": ("What was the murderer's motive?", "MOTIVE"),
}


def map_lines(world: World) -> list[str]:
    board = world.board
    width = len(str(len(board.rooms)))
    lines = []
    for row in range(board.rows):
        cells = []
        for col in range(board.columns):
            room = board.at(row, col)
            cells.append("[" + ("-" * width if room is None else f"{room + 1:0{width}d}") + "]")
        lines.append(" ".join(cells))
    return lines


def rules(world: World) -> list[str]:
    keys = [k for k in RULES if len(world.times) >= 2 or k not in _ONE_TIME_OMITS]
    return [f"{i}. {RULES[k]}" for i, k in enumerate(keys, 1)]


def render(world: World, clues: list[Clue], main: list[tuple[str, str]],
           bonus: list[tuple[str, str]]) -> str:
    """`main` and `bonus` are (question, answer kind) pairs in letter order."""
    sections = [INTRO]
    sections.append("\n".join(["Suspects:"] + [f"- {s}" for s in world.suspects]))
    sections.append("\n".join(["Weapons:"] + [f"- {w}" for w in world.weapons]))
    sections.append("\n".join(["Rooms:"] + [f"{i}. {r}" for i, r in enumerate(world.rooms, 1)]))
    sections.append("\n".join(["Map (north is at the top; rooms that share a side are adjacent;"
                               f" [{'-' * len(str(len(world.rooms)))}] is not a room):"]
                              + map_lines(world)))
    sections.append("\n".join(["Times, in order:"] + [f"- {t}" for t in world.times]))
    if world.distinct_motives:
        head = ["Motives (each suspect has exactly one; no two suspects share a motive):"]
        head += [f"- {m}" for m in world.motives]
    else:
        head = ["Motives (each suspect has exactly one; the count says how many suspects have it):"]
        for k, m in enumerate(world.motives):
            n = world.motive_count(k)
            head.append(f"- {m} ({n} suspect{'s' if n != 1 else ''})")
    sections.append("\n".join(head))
    sections.append("\n".join(["Rules:"] + rules(world)))
    sections.append("\n".join(["Clues:"] + [f"- {sentence(c, world)}" for c in clues]))
    letters = [chr(ord("A") + i) for i in range(len(main) + len(bonus))]
    questions = [f"{letter}. {q}" for letter, (q, _) in zip(letters, main + bonus)]
    if main:
        sections.append("\n".join(["Questions:"] + questions[:len(main)]))
    if bonus:
        sections.append("\n".join(["Bonus questions:"] + questions[len(main):]))
    answer = ["Answer format: end your reply with one line per question: the letter, a period, a space and",
              "the answer, written exactly as in the lists above, for example:"]
    answer += [f"{letter}. {kind}" for letter, (_, kind) in zip(letters, main + bonus)]
    sections.append("\n".join(answer))
    return "\n\n".join(sections)
