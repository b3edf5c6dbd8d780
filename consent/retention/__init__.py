"""How long stored things are kept and destroying them: retention periods, each project's policy and what is
due (and why), a withdrawal and the exported files it makes due, and destruction (the only code that deletes
stored or exported files)."""

from __future__ import annotations

from consent.retention import destruction, policy
from consent.retention.destruction import confirm_destroyed
from consent.retention.withdrawal import destruction_list, withdraw

__all__ = ["confirm_destroyed", "destruction", "destruction_list", "policy", "withdraw"]
