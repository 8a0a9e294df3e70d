"""Seeded synthetic scenarios of any size, for benchmarks and property tests.

They are shaped like the London fixture (population-based benchmarks, half-FTE services, pots
restricted by service and region, fixed commitments, a ring-fence, partial existing provision)
but every number is generated: nothing here is data.
"""

from __future__ import annotations

import random

from commissioning.models import Scenario


def synthetic_scenario(
    areas: int = 320,
    services: int = 8,
    pots: int = 5,
    years: int = 3,
    seed: int = 1,
    budget_share: float = 0.85,
) -> Scenario:
    """A scenario whose pots can buy about `budget_share` of what closing every gap would cost."""
    rng = random.Random(seed)
    regions = [f"Region {r + 1}" for r in range(max(1, areas // 35))]
    area_rows = []
    for i in range(areas):
        women = rng.randint(40_000, 250_000)
        area_rows.append(
            {
                "code": f"E0{6 + i // 1_000_000}{i:06d}",
                "name": f"Area {i + 1:03d}",
                "group": regions[i % len(regions)],
                "indicators": {
                    "female_16_plus": float(women),
                    "population_all_ages": float(int(women * rng.uniform(2.2, 2.8))),
                    "deprivation_score": round(rng.uniform(5, 45), 3),
                    "offences": float(rng.randint(100, 1200)),
                },
            }
        )
    service_rows, benchmark_rows = [], []
    for s in range(services):
        granularity = "0.5" if s % 3 != 2 else "1"
        service_rows.append(
            {
                "id": f"service_{s + 1}",
                "name": f"Service {s + 1}",
                "unit": "FTE" if granularity == "0.5" else "bed-space",
                "unit_cost_pence": rng.randrange(30_000, 60_000, 500) * 100,
                "granularity": granularity,
            }
        )
        if s < max(1, services - 2):
            benchmark_rows.append(
                {
                    "service": f"service_{s + 1}",
                    "units": str(rng.choice([1, 2, 4, 5])),
                    "per": 100_000,
                    "basis": rng.choice(["female_16_plus", "population_all_ages"]),
                    "source": "synthetic",
                    "edition": "generated",
                }
            )
    year_names = [f"{2019 + y}/{(20 + y) % 100:02d}" for y in range(years)]
    existing_rows = []
    gap_cost = 0.0
    for area in area_rows:
        for b in benchmark_rows:
            indicators = area["indicators"]
            assert isinstance(indicators, dict)
            target = indicators[b["basis"]] * int(str(b["units"])) / 100_000
            have = round(target * rng.uniform(0.3, 0.95) * 2) / 2
            existing_rows.append(
                {"area": area["code"], "service": b["service"], "units": str(have)}
            )
            cost = next(s["unit_cost_pence"] for s in service_rows if s["id"] == b["service"])
            assert isinstance(cost, int)
            gap_cost += max(0.0, target - have) * cost
    pot_rows, commitments = [], []
    per_pot = gap_cost * budget_share / pots
    for p in range(pots):
        eligible = sorted(rng.sample([s["id"] for s in service_rows], k=max(2, services // 2)))
        regional = p % 2 == 1 and len(regions) > 1
        commitment = int(per_pot * 0.1)
        pot_rows.append(
            {
                "id": f"pot_{p + 1}",
                "name": f"Pot {p + 1}",
                "kind": "commissioned_services",
                "amounts": [
                    {"year": y, "amount_pence": int(per_pot * (1 + 0.02 * k)) + commitment}
                    for k, y in enumerate(year_names)
                ],
                "eligible_services": eligible,
                "eligible_areas": (
                    [a["code"] for a in area_rows if a["group"] in regions[: len(regions) // 2 + 1]]
                    if regional
                    else None
                ),
            }
        )
        commitments.append(
            {
                "id": f"contract_{p + 1}",
                "name": f"Contract {p + 1}",
                "pot": f"pot_{p + 1}",
                "amount_pence": commitment,
            }
        )
    first = pot_rows[0]
    ring_fences = [
        {
            "id": "ring_fence_1",
            "name": "Ring-fence 1",
            "pot": "pot_1",
            "min_amount_pence": int(per_pot * 0.05),
            "services": [first["eligible_services"][-1]],  # type: ignore[index]
        }
    ]
    return Scenario.model_validate(
        {
            "name": (
                f"Synthetic {areas} areas × {services} services × {pots} pots × {years} years "
                f"(seed {seed})"
            ),
            "financial_years": year_names,
            "areas": area_rows,
            "services": service_rows,
            "benchmarks": benchmark_rows,
            "pots": pot_rows,
            "commitments": commitments,
            "ring_fences": ring_fences,
            "existing_provision": existing_rows,
            "policy": {"solver": {"relative_gap": 0.005, "time_limit_seconds": 120}},
        }
    )


__all__ = ["synthetic_scenario"]
