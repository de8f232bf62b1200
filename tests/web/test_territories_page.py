"""The territories page and API over real HTTP: KPIs, jobs, apply with history, locks, exports.

A small real region: the three ``small_region`` accounts (one far off the road network) plus
fifteen sample accounts around Heidelberg, and three reps, on the Heidelberg OSM extract.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.scheduling.calendar import working_days
from routeplanner.services import territories as territory_service
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from routeplanner.units import haversine_m
from tests.conftest import add_user, log_in, small_region
from tests.helpers import SAMPLE_DIR

pytestmark = pytest.mark.osm
FAST = {"time_limit_s": "2"}


def territory_region() -> tuple[list[Account], list[Rep]]:
    """18 accounts (A3 off the network) and 3 reps; stored locks and qualifications cleared."""
    accounts, reps = small_region()
    sample = read_accounts(SAMPLE_DIR / "accounts.csv")[::20][:15]  # spread over the region
    accounts += [
        replace(a, locked_rep_id=None, required_qualifications=frozenset()) for a in sample
    ]
    reps += [r for r in read_reps(SAMPLE_DIR / "reps.csv") if r.rep_id in ("R2", "R3")]
    return accounts, reps


def nearest_home_split(accounts: list[Account], reps: list[Rep]) -> list[Territory]:
    """Every account to the nearest rep: compact but (here) unbalanced, so realign moves some."""
    members: dict[str, list[str]] = {r.rep_id: [] for r in reps}
    for a in accounts:
        rep = min(
            reps,
            key=lambda r: haversine_m(a.location.lat, a.location.lon, r.home.lat, r.home.lon),
        )
        members[rep.rep_id].append(a.account_id)
    return [
        Territory(
            territory_id=f"T-{r.rep_id}",
            name=r.name,
            rep_id=r.rep_id,
            account_ids=tuple(members[r.rep_id]),
        )
        for r in reps
    ]


@pytest.fixture
def store(settings: Settings) -> Store:
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    return store


@pytest.fixture
def seeded(store: Store) -> list[Territory]:
    accounts, reps = territory_region()
    split = nearest_home_split(accounts, reps)
    store.territories.save(split, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    return store.territories.all()


def wait_job(client: TestClient, job_id: int) -> dict[str, Any]:
    for _ in range(1200):  # at most ~120 s on a busy machine
        body: dict[str, Any] = client.get(f"/api/v1/territories/jobs/{job_id}").json()
        if body["state"] != "running":
            return body
        time.sleep(0.1)
    pytest.fail("territory job did not finish")


def owners(territories: list[Territory] | list[dict[str, Any]]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for t in territories:
        if isinstance(t, Territory):
            out.update({a: t.rep_id for a in t.account_ids})
        else:
            out.update({a: t["rep_id"] for a in t["account_ids"]})
    return out


# -- access control ----------------------------------------------------------------------------


def test_anonymous_is_redirected_or_401(anon_client: TestClient) -> None:
    page = anon_client.get("/territories", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=%2Fterritories")
    for path in ("/territories/export.geojson", "/territories/export.csv"):
        assert anon_client.get(path, follow_redirects=False).status_code == 303
    api = anon_client.get("/api/v1/territories")
    assert api.status_code == 401
    assert api.json() == {"error": "authentication required", "errors": []}
    assert anon_client.post("/api/v1/territories/realign", json={}).status_code == 401


def test_rep_gets_403_everywhere(anon_client: TestClient, store: Store, seeded: Any) -> None:
    add_user(store, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    for path in (
        "/territories",
        "/territories/export.geojson",
        "/territories/export.csv",
        "/api/v1/territories",
        "/api/v1/territories/jobs/1",
    ):
        assert anon_client.get(path).status_code == 403, path
    assert anon_client.post("/territories/realign", data=FAST).status_code == 403
    assert anon_client.post("/territories/lock/T-R1", data={"locked": "1"}).status_code == 403
    assert anon_client.post("/territories/jobs/1/apply", data={"option": "1"}).status_code == 403
    assert anon_client.post("/api/v1/territories/design", json={}).status_code == 403
    assert (
        anon_client.post("/api/v1/territories/jobs/1/apply", json={"option": 1}).status_code == 403
    )
    assert (
        anon_client.post("/api/v1/territories/T-R1/lock", json={"locked": True}).status_code == 403
    )
    assert 'href="/territories"' not in anon_client.get("/route").text
    assert store.territories.all() == seeded


def test_forms_need_the_csrf_token(client: TestClient, seeded: Any, store: Store) -> None:
    del client.headers["X-CSRF-Token"]
    assert client.post("/territories/realign", data=FAST).status_code == 403
    assert client.post("/territories/lock/T-R1", data={"locked": "1"}).status_code == 403
    assert client.post("/api/v1/territories/realign", json={}).status_code == 403
    assert store.territories.all() == seeded


# -- page and KPIs -------------------------------------------------------------------------------


def test_page_without_territories_offers_a_design(client: TestClient) -> None:
    html = client.get("/territories").text
    assert 'href="/territories"' in html  # nav link
    assert "No territories yet" in html
    assert 'action="/territories/design"' in html
    assert 'id="territories"' not in html


def test_page_shows_map_and_kpis(client: TestClient, seeded: list[Territory]) -> None:
    response = client.get("/territories")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<svg class="map territory-map"' in html
    assert 'class="roads"' in html  # the road network as background
    assert html.count('class="area"') == 3
    assert html.count('class="marker home"') == 3
    assert "Jürgen Weiß" in html  # UTF-8 names
    for t in seeded:
        assert f'<tr data-territory="{t.territory_id}">' in html
    assert "Workload vs capacity" in html
    assert '<meter class="bar"' in html
    assert 'id="capacity-basis"' in html
    assert "Max deviation" in html
    assert "A3" in html  # named as off the road network, not silently dropped
    assert 'href="/territories/export.geojson"' in html
    assert "hide areas" in html
    assert 'class="area"' not in client.get("/territories", params={"areas": 0}).text


def test_api_lists_territories_with_kpis(client: TestClient, seeded: list[Territory]) -> None:
    body = client.get("/api/v1/territories").json()
    assert [t["territory_id"] for t in body["territories"]] == [t.territory_id for t in seeded]
    assert body["off_network"] == ["A3"]
    assert body["kpi_error"] == ""
    first = body["territories"][0]
    assert first["kpis"]["workload_h"] > 0
    assert first["kpis"]["capacity_h"] > 0
    summary = body["summary"]
    assert summary["accounts"] == 17  # A3 is off the network
    assert summary["max_workload_dev_pct"] >= 0
    assert len(summary["territories"]) == 3


# -- realign: nothing changes until apply ------------------------------------------------------


def test_realign_via_api_then_apply_with_history(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    history_before = store.territories.ownership_history()
    started = client.post("/api/v1/territories/realign", json={"max_moves": 3, "time_limit_s": 2})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"])
    assert job["state"] == "done", job
    assert job["kind"] == "realign"
    assert job["params"]["max_moves"] == 3
    assert job["applied"] is None
    options = job["options"]
    assert options
    for option in options:
        assert option["moved_accounts"] <= 3
        assert option["before"] is not None
        assert option["after"]["accounts"] == 17
        # every account is in the option, A3 stays with its owner
        assert sorted(owners(option["territories"])) == sorted(owners(seeded))
        assert owners(option["territories"])["A3"] == owners(seeded)["A3"]
    # nothing changed before apply
    assert store.territories.all() == seeded
    assert store.territories.ownership_history() == history_before

    pick = max(options, key=lambda o: o["moved_accounts"])
    assert pick["moved_accounts"] > 0  # the nearest-home split is unbalanced here
    applied = client.post(
        f"/api/v1/territories/jobs/{job['job_id']}/apply", json={"option": pick["option"]}
    )
    assert applied.status_code == 200, applied.text
    assert owners(store.territories.all()) == owners(pick["territories"])
    assert applied.json()["summary"]["max_workload_dev_pct"] == pytest.approx(
        pick["after"]["max_workload_dev_pct"], abs=0.05
    )
    moved = {m["account_id"] for m in pick["moves"]}
    new_records = [r for r in store.territories.ownership_history() if r not in history_before]
    changed = {r.account_id for r in new_records if r.valid_to is None}
    assert changed == moved
    for record in new_records:
        if record.valid_to is None:
            assert record.cause is OwnershipCause.REALIGNMENT
            assert record.changed_by == "boss"
            assert f"job {job['job_id']} option {pick['option']}" in record.detail
    # a second apply (any option) is refused: the split it was computed on is gone
    again = client.post(f"/api/v1/territories/jobs/{job['job_id']}/apply", json={"option": 1})
    assert again.status_code == 409
    assert again.json()["error"].startswith("option")
    assert wait_job(client, job["job_id"])["applied"] == pick["option"]


def test_apply_unknown_option_or_job(client: TestClient, store: Store, seeded: Any) -> None:
    job = wait_job(client, client.post("/api/v1/territories/realign", json=FAST).json()["job_id"])
    n = len(job["options"])
    bad = client.post(f"/api/v1/territories/jobs/{job['job_id']}/apply", json={"option": n + 1})
    assert bad.status_code == 422
    assert bad.json() == {
        "error": "invalid input",
        "errors": [
            {
                "field": "option",
                "message": f"job {job['job_id']} has options 1..{n}, not {n + 1}",
                "source": "apply",
                "row": None,
            }
        ],
    }
    page = client.post(f"/territories/jobs/{job['job_id']}/apply", data={"option": "0"})
    assert page.status_code == 422
    assert "has options 1.." in page.text
    missing = client.post("/api/v1/territories/jobs/999/apply", json={"option": 1})
    assert missing.status_code == 404
    assert missing.json()["error"] == "territory job 999 not found"
    assert client.get("/api/v1/territories/jobs/999").status_code == 404
    typo = client.post(f"/api/v1/territories/jobs/{job['job_id']}/apply", json={"option": "x"})
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["field"] == "option"
    assert store.territories.all() == seeded


def test_apply_is_refused_when_territories_changed(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    job = wait_job(client, client.post("/api/v1/territories/realign", json=FAST).json()["job_id"])
    locked = client.post("/api/v1/territories/T-R2/lock", json={"locked": True})
    assert locked.status_code == 200
    refused = client.post(f"/api/v1/territories/jobs/{job['job_id']}/apply", json={"option": 1})
    assert refused.status_code == 409
    assert "changed since this job started" in refused.json()["error"]
    assert owners(store.territories.all()) == owners(seeded)


def test_bad_job_options_name_every_field(client: TestClient, store: Store, seeded: Any) -> None:
    form = {"max_moves": "-1", "tolerance_pct": "abc", "horizon_days": "2.5", "time_limit_s": "2"}
    page = client.post("/territories/realign", data=form)
    assert page.status_code == 422
    assert "<strong>max_moves</strong>: must be 0 to 1000000, got -1" in page.text
    assert "<strong>tolerance_pct</strong>: &#39;abc&#39; is not a number" in page.text
    assert "<strong>horizon_days</strong>: &#39;2.5&#39; is not a whole number" in page.text
    api = client.post("/api/v1/territories/realign", json={"max_moves": -1, "time_limit_s": 500})
    assert api.status_code == 422
    errors = [(e["field"], e["message"]) for e in api.json()["errors"]]
    assert errors == [
        ("max_moves", "must be 0 to 1000000, got -1"),
        ("time_limit_s", "must be 0.5 to 120, got 500.0"),
    ]
    assert client.post("/territories/bogus", data=FAST).status_code == 422
    assert client.get("/api/v1/territories/jobs/1").status_code == 404  # nothing started
    assert store.territories.all() == seeded


def test_value_weight_is_balanced_shown_and_checked(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    bad = client.post("/territories/design", data={**FAST, "value_weight": "viel"})
    assert bad.status_code == 422
    assert "<strong>value_weight</strong>: &#39;viel&#39; is not a number" in bad.text
    api = client.post("/api/v1/territories/design", json={"value_weight": -1})
    assert api.status_code == 422
    assert [(e["field"], e["message"]) for e in api.json()["errors"]] == [
        ("value_weight", "must be 0 to 100, got -1.0")
    ]
    assert 'name="value_weight"' in client.get("/territories").text
    assert "(value " in client.get("/territories").text  # value deviation in the summary

    started = client.post("/api/v1/territories/design", json={**FAST, "value_weight": 1})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"])
    assert job["state"] == "done", job
    (option,) = job["options"]
    after = option["after"]
    # The tolerance is promised on the workload/value mix, so "balanced" is judged on it.
    free = [t for t in after["territories"] if not t["locked"]]
    work = sum(t["workload_h"] for t in free)
    value = sum(t["value"] for t in free)
    cap = sum(t["capacity_h"] for t in free)
    mix = max(
        abs((t["workload_h"] / work + t["value"] / value) / (2 * t["capacity_h"] / cap) - 1)
        for t in free
    )
    # (Here workload alone is ~18 % off: the mix, not workload, is what was asked for.)
    assert mix <= 0.05 + 1e-9
    assert option["within_tolerance"]
    assert after["max_value_dev_pct"] == pytest.approx(max(abs(t["value_dev_pct"]) for t in free))
    # What was asked comes back with the options, defaults filled in.
    assert job["params"] == {
        "horizon_days": 28,
        "tolerance_pct": 5.0,
        "max_moves": None,
        "move_penalty_s": None,
        "time_limit_s": 2.0,
        "value_weight": 1.0,
    }
    html = client.get(f"/territories?job={job['job_id']}").text
    assert "Max value deviation" in html
    assert "Asked: tolerance ±5 %, 28-day period, value weight 1, time limit 2 s" in html
    assert store.territories.all() == seeded  # a proposal only


def test_realign_without_territories_fails_clearly(client: TestClient) -> None:
    job = wait_job(client, client.post("/api/v1/territories/realign", json=FAST).json()["job_id"])
    assert job["state"] == "failed"
    assert "no territories to realign; design first" in job["error"]
    assert "design first" in client.get("/territories").text


# -- design from the page ----------------------------------------------------------------------


def test_design_from_the_page_then_apply(client: TestClient, store: Store) -> None:
    response = client.post("/territories/design", data=FAST, follow_redirects=False)
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("=", 1)[1])
    job = wait_job(client, job_id)
    assert job["state"] == "done", job
    assert store.territories.all() == []  # a proposal only
    html = client.get(f"/territories?job={job_id}").text
    assert 'data-option="1"' in html
    assert "Apply option 1" in html
    preview = client.get(f"/territories?job={job_id}&preview=1").text
    assert 'id="preview-note"' in preview
    assert preview.count('class="area"') >= 2
    applied = client.post(
        f"/territories/jobs/{job_id}/apply", data={"option": "1"}, follow_redirects=False
    )
    assert applied.status_code == 303
    stored = store.territories.all()
    assert len(stored) == 3
    assert sum(len(t.account_ids) for t in stored) == 18  # A3 included, with the nearest rep
    html = client.get(f"/territories?job={job_id}").text
    assert "option 1 applied by boss" in html
    assert "Apply option" not in html
    records = store.territories.ownership_history("A1")
    assert records[-1].changed_by == "boss"
    assert records[-1].cause is OwnershipCause.REALIGNMENT


def test_design_keeps_locked_territories(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    lock = client.post("/territories/lock/T-R3", data={"locked": "1"}, follow_redirects=False)
    assert lock.status_code == 303
    job = wait_job(client, client.post("/api/v1/territories/design", json=FAST).json()["job_id"])
    assert job["state"] == "done", job
    (option,) = job["options"]
    (kept,) = [t for t in option["territories"] if t["territory_id"] == "T-R3"]
    assert kept["locked"] is True
    original = next(t for t in seeded if t.territory_id == "T-R3")
    assert set(kept["account_ids"]) == set(original.account_ids)


# -- locks ---------------------------------------------------------------------------------------


def test_lock_and_unlock(client: TestClient, store: Store, seeded: list[Territory]) -> None:
    assert client.post("/territories/lock/T-R1", data={"locked": "1"}).status_code == 200
    lock_of = {t.territory_id: t.locked for t in store.territories.all()}
    assert lock_of == {"T-R1": True, "T-R2": False, "T-R3": False}
    html = client.get("/territories").text
    assert 'class="pill locked"' in html
    assert ">Unlock</button>" in html
    body = client.post("/api/v1/territories/T-R1/lock", json={"locked": False}).json()
    assert body["locked"] is False
    assert not any(t.locked for t in store.territories.all())
    assert owners(store.territories.all()) == owners(seeded)
    missing = client.post("/api/v1/territories/NOPE/lock", json={"locked": True})
    assert missing.status_code == 404
    assert missing.json()["error"] == "territory 'NOPE' not found"
    assert client.post("/territories/lock/NOPE", data={"locked": "1"}).status_code == 404


# -- jobs: one at a time, cancel -------------------------------------------------------------


def test_one_job_at_a_time_and_cancel(
    client: TestClient, store: Store, seeded: list[Territory], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = territory_service.propose

    def slow(inputs: Any, travel: Any, params: Any, progress: Any, **options: Any) -> Any:
        while not release.wait(0.05):
            progress("waiting for the test", 0.3)  # raises once the job is cancelled
        return real(inputs, travel, params, progress, **options)

    monkeypatch.setattr(territory_service, "propose", slow)
    first = client.post("/territories/realign", data=FAST, follow_redirects=False)
    job_id = int(first.headers["location"].rsplit("=", 1)[1])
    for _ in range(100):
        if client.get(f"/api/v1/territories/jobs/{job_id}").json()["progress"] > 0:
            break
        time.sleep(0.05)
    html = client.get("/territories").text
    assert 'http-equiv="refresh"' in html
    assert 'id="territory-progress"' in html
    assert "30 %" in html
    assert f'action="/territories/jobs/{job_id}/cancel"' in html
    busy = client.post("/api/v1/territories/design", json=FAST)
    assert busy.status_code == 409
    assert busy.json()["error"] == "a territory job is already running"
    cancelled = client.post(f"/territories/jobs/{job_id}/cancel", follow_redirects=False)
    assert cancelled.status_code == 303
    body = wait_job(client, job_id)
    release.set()
    assert body["state"] == "cancelled"
    assert body["options"] == []
    assert (
        client.post(f"/api/v1/territories/jobs/{job_id}/apply", json={"option": 1}).status_code
        == 409
    )
    assert store.territories.all() == seeded
    assert "cancelled" in client.get("/territories").text


# -- exports and schema -------------------------------------------------------------------------


def test_exports(client: TestClient, seeded: list[Territory]) -> None:
    geo = client.get("/territories/export.geojson")
    assert geo.status_code == 200
    assert geo.headers["content-type"].startswith("application/geo+json")
    data = json.loads(geo.content.decode("utf-8"))
    assert data["type"] == "FeatureCollection"
    assert [f["properties"]["territory_id"] for f in data["features"]] == ["T-R1", "T-R2", "T-R3"]
    assert "workload_h" in data["features"][0]["properties"]
    # the map's areas: they never overlap, unlike the hulls still offered
    assert {f["geometry"]["type"] for f in data["features"]} == {"MultiPolygon"}
    hull = client.get("/territories/export.geojson", params={"geometry": "hull"}).json()
    assert "Polygon" in {f["geometry"]["type"] for f in hull["features"]}
    points = client.get("/territories/export.geojson", params={"geometry": "points"}).json()
    assert len(points["features"]) == 18
    rows = list(csv.DictReader(io.StringIO(client.get("/territories/export.csv").text)))
    assert len(rows) == 18
    assert {r["account_name"] for r in rows} >= {"Bäckerei Müller"}
    kpis = list(csv.DictReader(io.StringIO(client.get("/territories/export.csv?what=kpis").text)))
    assert [r["territory_id"] for r in kpis] == ["T-R1", "T-R2", "T-R3"]


def test_openapi_documents_the_territory_api(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/v1/territories",
        "/api/v1/territories/design",
        "/api/v1/territories/realign",
        "/api/v1/territories/jobs/{job_id}",
        "/api/v1/territories/jobs/{job_id}/cancel",
        "/api/v1/territories/jobs/{job_id}/apply",
        "/api/v1/territories/{territory_id}/lock",
    ):
        assert path in paths, path
    assert "/territories" not in paths  # pages stay out of the API schema


def test_page_without_a_road_network_still_renders(
    settings: Settings, store: Store, seeded: list[Territory]
) -> None:
    from routeplanner.web.app import create_app

    broken = settings.model_copy(update={"osm_path": settings.cache_dir / "missing.osm.pbf"})
    with TestClient(create_app(broken)) as other:
        add_user(store, "boss")
        log_in(other, "boss")
        html = other.get("/territories").text
        assert "OSM file not found" in html
        assert 'class="roads"' not in html
        # the map still shows the accounts, and areas (a plain Voronoi of the accounts)
        assert html.count('class="area"') == 3
        body = other.get("/api/v1/territories").json()
        assert body["summary"] is None
        assert "OSM file not found" in body["kpi_error"]
        job = wait_job(other, other.post("/api/v1/territories/realign", json=FAST).json()["job_id"])
        assert job["state"] == "failed"
        assert "OSM file not found" in job["error"]


def test_off_network_account_follows_its_lock(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    a3 = store.accounts.get("A3")
    assert a3 is not None
    assert owners(seeded)["A3"] == "R1"
    store.accounts.upsert([replace(a3, locked_rep_id="R3")], source="test")
    job = wait_job(client, client.post("/api/v1/territories/realign", json=FAST).json()["job_id"])
    assert job["state"] == "done", job
    for option in job["options"]:
        assert owners(option["territories"])["A3"] == "R3"
        (move,) = [m for m in option["moves"] if m["account_id"] == "A3"]
        assert (move["from_rep"], move["to_rep"], move["forced"]) == ("R1", "R3", False)
        counted = [m for m in option["moves"] if m["from_rep"] and not m["forced"]]
        assert option["moved_accounts"] == len(counted)


# -- one set of numbers: capacity over the plan's working days ---------------------------------

HORIZON = Horizon(start=date(2027, 2, 8), weeks=2, timezone="Europe/Berlin")  # R3 off 15-19 Feb


def _capacity(client: TestClient) -> dict[str, float]:
    body = client.get("/api/v1/territories").json()
    return {t["rep_id"]: t["kpis"]["capacity_h"] for t in body["territories"]}


def test_capacity_counts_the_current_plans_working_days_and_absences(
    client: TestClient, store: Store, seeded: list[Territory]
) -> None:
    """Before a plan: a typical 28 days (20 working days, no dated absences). With a plan: the
    days the scheduler itself would use for each rep, so R3's week of leave costs capacity."""
    typical = _capacity(client)
    assert "absences and public holidays are not counted" in client.get("/territories").text
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, Plan())
    planned = _capacity(client)
    for rep in store.reps.all():
        days = len(working_days(rep, HORIZON))
        assert planned[rep.rep_id] == pytest.approx(typical[rep.rep_id] / 20 * days)
    assert planned["R3"] == pytest.approx(planned["R2"] / 2)
    page = client.get("/territories").text
    assert f"current plan {plan_id} (2027-02-08 to 2027-02-21)" in page
    assert "(5 days off)" in page


def test_capacity_basis_adds_public_holidays_to_every_reps_days_off(store: Store) -> None:
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, Plan())
    holidays = frozenset({date(2027, 2, 10), date(2027, 2, 16), date(2027, 2, 20)})  # Sat: no work
    basis, reps = territory_service.capacity_basis(store, store.reps.all(), holidays)
    assert (basis.start, basis.days, basis.plan_id, basis.end) == (
        HORIZON.start,
        14,
        plan_id,
        date(2027, 2, 21),
    )
    assert basis.days_off == {"R1": 2, "R2": 2, "R3": 6}
    for rep in reps:
        assert basis.days_off[rep.rep_id] == 10 - len(working_days(rep, HORIZON))
