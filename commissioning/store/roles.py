"""The roles an API key can have: a leaf module, so the `commissioning` command can list them in
its help without importing the store (whose records are dataclasses, and dataclasses bring in
inspect: about 35 ms of start-up)."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["commissioner", "finance", "borough_lead"]
ROLES: tuple[str, ...] = get_args(Role)
