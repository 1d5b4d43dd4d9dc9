"""AccessService on SQLite and PostgreSQL: own workspaces, sharing, revoking, unlinking."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from ims_bot.access import MAX_LIVE_CODES, AccessService, NotLinked, Profile
from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.errors import AccessDenied, InvalidInput, NotFound
from ims_bot.importer import import_file
from ims_bot.records import RecordService
from ims_bot.settings import INDIA
from tests.factories import RECIPIENT, invoice, portal_file

OWNER = 7_100_001
CA = 7_100_002
STRANGER = 7_100_003
START = datetime(2025, 11, 10, 10, 0, tzinfo=INDIA)


class Clock:
    def __init__(self) -> None:
        self.value = START

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def clock_now() -> Clock:
    return Clock()


@pytest.fixture
def access(database: Database, clock_now: Clock) -> AccessService:
    return AccessService(database, clock_now)


def _import(db: Database, w: int, *numbers: str) -> None:
    data = portal_file(b2b=[invoice(n) for n in numbers])
    import_file(db, w, io.BytesIO(data), actor="test", channel="test")


def test_link_creates_an_owned_monthly_workspace_and_makes_it_active(
    access: AccessService,
) -> None:
    outcome = access.link(OWNER, OWNER, RECIPIENT.lower())
    assert outcome.created
    assert outcome.workspace.gstin == RECIPIENT
    assert outcome.workspace.frequency is Frequency.MONTHLY
    assert outcome.workspace.state_code == "27"
    assert access.active(OWNER) == outcome.workspace
    [entry] = access.workspaces(OWNER)
    assert entry.is_owner and entry.active


def test_linking_twice_is_harmless(access: AccessService) -> None:
    first = access.link(OWNER, OWNER, RECIPIENT)
    again = access.link(OWNER, OWNER, RECIPIENT)
    assert again.workspace.id == first.workspace.id and not again.created


def test_a_bad_gstin_is_refused_naming_the_problem(access: AccessService) -> None:
    with pytest.raises(InvalidInput, match="check character"):
        access.link(OWNER, OWNER, RECIPIENT[:14] + ("A" if RECIPIENT[14] != "A" else "B"))
    with pytest.raises(InvalidInput, match="15 characters"):
        access.link(OWNER, OWNER, "27AAPFU0939F1Z")
    with pytest.raises(NotLinked):
        access.active(OWNER)


def test_a_second_user_linking_the_same_gstin_gets_an_empty_workspace_of_their_own(
    access: AccessService, database: Database
) -> None:
    mine = access.link(OWNER, OWNER, RECIPIENT).workspace
    _import(database, mine.id, "INV-OWN-1")
    theirs = access.link(STRANGER, STRANGER, RECIPIENT).workspace
    assert theirs.id != mine.id
    records = RecordService(database, lambda: START.date())
    assert records.list(theirs.id).total == 0
    with pytest.raises(AccessDenied):
        access.require(STRANGER, mine.id)


def test_an_invite_shares_the_workspace_once_and_revoke_takes_it_back(
    access: AccessService,
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    code = access.invite(OWNER, ws.id)
    assert code.expires_at - START == timedelta(days=7)
    joined = access.join(CA, CA, code.code.lower())
    assert joined.id == ws.id
    assert access.active(CA).id == ws.id
    assert [e.role for e in access.workspaces(CA)] == ["member"]
    with pytest.raises(InvalidInput, match="already used"):
        access.join(STRANGER, STRANGER, code.code)
    assert {m.user_id for m in access.members(OWNER, ws.id)} == {OWNER, CA}
    with pytest.raises(AccessDenied):
        access.invite(CA, ws.id)  # only the owner shares
    assert access.revoke(OWNER, ws.id, CA)
    with pytest.raises(AccessDenied):
        access.require(CA, ws.id)
    with pytest.raises(NotLinked):
        access.active(CA)


def test_an_expired_or_unknown_invite_is_refused(
    access: AccessService, clock_now: Clock
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    code = access.invite(OWNER, ws.id)
    clock_now.value = START + timedelta(days=8)
    with pytest.raises(InvalidInput, match="expired"):
        access.join(CA, CA, code.code)
    with pytest.raises(NotFound):
        access.join(CA, CA, "NOSUCHCD")


def test_a_member_unlinking_leaves_and_the_owner_unlinking_deletes_everything(
    access: AccessService, database: Database
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    _import(database, ws.id, "INV-DEL-1", "INV-DEL-2")
    access.join(CA, CA, access.invite(OWNER, ws.id).code)
    left, deleted = access.unlink(CA, ws.id)
    assert left.id == ws.id and not deleted
    assert access.require(OWNER, ws.id).id == ws.id
    _, deleted = access.unlink(OWNER, ws.id)
    assert deleted
    assert access.workspaces(OWNER) == []
    records = RecordService(database, lambda: START.date())
    with pytest.raises(NotFound):
        records.list(ws.id)


def test_switching_picks_among_own_and_shared_gstins(access: AccessService) -> None:
    own = access.link(CA, CA, RECIPIENT).workspace
    shared = access.link(OWNER, OWNER, RECIPIENT).workspace
    access.join(CA, CA, access.invite(OWNER, shared.id).code)
    assert access.active(CA).id == shared.id
    access.switch(CA, CA, own.id)
    assert access.active(CA).id == own.id
    with pytest.raises(AccessDenied):
        access.switch(STRANGER, STRANGER, own.id)


def test_a_revoked_member_cannot_rejoin_with_the_code_they_used(access: AccessService) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    code = access.invite(OWNER, ws.id).code
    access.join(CA, CA, code)
    assert access.revoke(OWNER, ws.id, CA)

    with pytest.raises((InvalidInput, NotFound)):
        access.join(CA, CA, code)

    with pytest.raises(AccessDenied):
        access.require(CA, ws.id)
    assert access.workspaces(CA) == []


def test_a_member_who_left_cannot_rejoin_with_their_old_code(access: AccessService) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    code = access.invite(OWNER, ws.id).code
    access.join(CA, CA, code)
    access.unlink(CA, ws.id)

    with pytest.raises((InvalidInput, NotFound)):
        access.join(CA, CA, code)
    assert access.workspaces(CA) == []


def test_sending_the_code_again_while_still_a_member_changes_nothing(
    access: AccessService,
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    code = access.invite(OWNER, ws.id).code
    access.join(CA, CA, code)

    assert access.join(CA, CA, code).id == ws.id  # a double send
    assert [m.user_id for m in access.members(OWNER, ws.id)] == [OWNER, CA]


def test_sharing_names_the_members_and_lists_only_codes_that_still_work(
    access: AccessService, clock_now: Clock
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT, profile=Profile("Asha Traders")).workspace
    access.join(CA, CA, access.invite(OWNER, ws.id).code,
                profile=Profile("<b>Ravi</b> & Co", "ravi_ca"))
    cancelled = access.invite(OWNER, ws.id).code
    assert access.cancel_invite(OWNER, ws.id, cancelled)
    expiring = access.invite(OWNER, ws.id, days=1).code
    live = access.invite(OWNER, ws.id).code
    clock_now.value = START + timedelta(days=2)

    sharing = access.sharing(OWNER, ws.id)

    assert [(m.user_id, m.role, m.name, m.username) for m in sharing.members] == [
        (OWNER, "owner", "Asha Traders", None),
        (CA, "member", "<b>Ravi</b> & Co", "ravi_ca"),
    ]
    assert [c.code for c in sharing.codes] == [live]
    assert expiring != live
    with pytest.raises(AccessDenied):
        access.sharing(CA, ws.id)  # only the owner sees who has access


def test_only_the_owner_cancels_a_code_and_a_cancelled_code_is_dead(
    access: AccessService,
) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    other = access.link(STRANGER, STRANGER, RECIPIENT).workspace
    access.join(CA, CA, access.invite(OWNER, ws.id).code)
    code = access.invite(OWNER, ws.id).code
    with pytest.raises(AccessDenied):
        access.cancel_invite(CA, ws.id, code)  # a member is not the owner
    assert not access.cancel_invite(STRANGER, other.id, code)  # not that workspace's code
    assert [c.code for c in access.sharing(OWNER, ws.id).codes] == [code]

    assert access.cancel_invite(OWNER, ws.id, code)
    assert not access.cancel_invite(OWNER, ws.id, code)  # a replayed tap changes nothing
    with pytest.raises(NotFound):
        access.join(STRANGER, STRANGER, code)


def test_revoking_someone_without_access_changes_nothing(access: AccessService) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    access.join(CA, CA, access.invite(OWNER, ws.id).code)
    assert not access.revoke(OWNER, ws.id, STRANGER)
    with pytest.raises(AccessDenied):
        access.revoke(CA, ws.id, OWNER)
    with pytest.raises(InvalidInput):
        access.revoke(OWNER, ws.id, OWNER)
    assert [m.user_id for m in access.members(OWNER, ws.id)] == [OWNER, CA]


def test_at_most_ten_codes_work_at_once(access: AccessService) -> None:
    ws = access.link(OWNER, OWNER, RECIPIENT).workspace
    codes = [access.invite(OWNER, ws.id).code for _ in range(MAX_LIVE_CODES)]
    with pytest.raises(InvalidInput, match="/members"):
        access.invite(OWNER, ws.id)
    access.cancel_invite(OWNER, ws.id, codes[0])
    assert access.invite(OWNER, ws.id).code not in codes
