"""Faithfulness: whether removing a class's relevant components changes the teacher's mind.

For a class detected by the teacher, with ``p`` the teacher's mean probability of the class on the
frames where it is detected:

- ``removal_drop``: ``p`` minus the same mean after resynthesising the input without the
  class's relevant components (the complement of their mask);
- ``random_removal_drop``: the same after removing as many components drawn at random, averaged
  over draws (the baseline that ``removal_drop`` should clearly exceed);
- ``keep_only``: ``p`` minus the same mean on the class's explanation audio alone (small when
  the relevant components carry the evidence by themselves);
- ``teacher_probability``: ``p`` itself.
"""

from __future__ import annotations

import numpy as np


def figures(before: np.ndarray, after_sums: np.ndarray) -> dict[str, float | None]:
    """The figures of a class from the teacher's probabilities on its detected frames ``(frame,)``
    and the sums of its probabilities on them after: the rest, the kept audio, each random draw."""
    count, start = len(before), float(before.mean())
    rest, kept, *random = (start - float(value) / count for value in after_sums)
    return {"teacher_probability": round(start, 4), "removal_drop": round(rest, 4),
            "random_removal_drop": round(float(np.mean(random)), 4) if random else None,
            "keep_only": round(kept, 4)}


