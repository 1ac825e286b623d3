"""Little's law between two independent measurements of the same replication.

A monitor process samples every body's agenda length at Poisson times inside the simulation
(Poisson arrivals see time averages, PASTA), which gives L, the time-average number of items on
agendas. The stage table, written separately when each visit ends, gives the visit rate λ and
the mean visit length W. Little's law says L = λ·W; a bug in either the agendas or the stage
accounting breaks it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
import simpy

from sim.engine.compile import compile_scenario
from sim.engine.replication import Replication
from sim.scenario import Scenario


@pytest.mark.slow
@pytest.mark.parametrize("replication", [0, 1])
def test_agenda_length_sampled_at_random_times_matches_visit_rate_times_visit_length(
    baseline: Scenario, replication: int
) -> None:
    compiled = compile_scenario(baseline)
    rep = Replication(compiled, compiled.dtypes(), seed=3, replication=replication)
    horizon = compiled.horizon
    rng = np.random.default_rng(replication)
    samples: list[int] = []

    def monitor() -> Generator[simpy.Event, Any, None]:
        while True:
            yield rep.env.timeout(rng.exponential(1 / 40))  # about 40 looks a day
            if rep.env.now < horizon:
                samples.append(sum(len(a) for a in rep.desk.agendas))

    rep.env.process(monitor())
    rep.run()
    stages = rep.result().stages
    on_agenda = stages[stages["body"] != "written_procedure"]
    lam = len(on_agenda) / horizon  # visits per day
    w = float((on_agenda["left_day"] - on_agenda["entered_day"]).mean())  # days per visit
    big_l = float(np.mean(samples))
    assert len(samples) > 10_000
    assert big_l == pytest.approx(lam * w, rel=0.05), (big_l, lam * w)
    assert big_l > 5  # a loaded Council, not an empty one
