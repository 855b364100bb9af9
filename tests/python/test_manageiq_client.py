"""The mock ManageIQ REST API driven by the real Python client users have: manageiq-client
from PyPI (module manageiq_client, class ManageIQClient), used the way its users use it.

The mock is the project's own binary (`miq-automate mock-server`), started by the fixtures
below; nothing is built here. Set MIQ_AUTOMATE_BIN to pick the binary (default
target/release/miq-automate under the repository root).

Client behaviours worth knowing, pinned by the tests (they are the client's, not the mock's):
- An action result is turned into an Entity built from the result's `href`: for a VM action
  that is the VM, so the action-result fields (success, message, task_id) are not attributes
  until the entity is reloaded; the raw body stays in `api.response`.
- A failed single action (HTTP 400 with `{"success": false, "message": ...}` and no `error`
  key, as ManageIQ answers since Lasker) raises APIException with only the HTTP status; the
  message is in `api.response`.
- A failed item of a bulk call (`{"success": false, "href": ...}`) comes back as an Entity
  like the successful ones: only `api.response` tells them apart.
- Entity skips attributes whose value is null: reading one asks the server again, then
  raises AttributeError.
"""

import datetime
import json
import os
import selectors
import subprocess
import tempfile
from pathlib import Path

import pytest
from manageiq_client.api import APIException, Entity, ManageIQClient
from manageiq_client.filters import Q

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "mocks" / "failed_bundle.json"
CREDENTIALS = dict(user="admin", password="smartvm")
STARTUP_TIMEOUT_S = 30
UTC = datetime.timezone.utc


class MockProcess:
    """One `miq-automate mock-server` process on 127.0.0.1 with a free port."""

    def __init__(self, binary, scenario):
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(binary), "mock-server", "--scenario", str(scenario), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            cwd=str(REPO),
            text=True,
        )
        try:
            self.url = self._read_url()
        except BaseException:
            self.stop()
            raise

    def _read_url(self):
        # The first stdout line is the URL; wait for it with a bound, not a sleep.
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=STARTUP_TIMEOUT_S):
                pytest.fail(
                    f"mock-server printed no URL within {STARTUP_TIMEOUT_S} s: {self.stderr()}"
                )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.proc.wait(timeout=STARTUP_TIMEOUT_S)
            pytest.fail(
                f"mock-server did not start (exit {self.proc.returncode}, stdout {line!r}): "
                f"{self.stderr()}"
            )
        return line

    def stderr(self):
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()

    def client(self, user="admin", password="smartvm"):
        return ManageIQClient(self.url + "/api", dict(user=user, password=password), verify_ssl=False)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STARTUP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture(scope="session")
def start_mock():
    """Starts mock servers from the prebuilt binary; stops every one at session end."""
    binary = Path(os.environ.get("MIQ_AUTOMATE_BIN", "target/release/miq-automate"))
    if not binary.is_absolute():
        binary = REPO / binary
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"the miq-automate binary is missing: {binary}. Build it first with "
            "`cargo build --release -p miq-automate-cli`, or point MIQ_AUTOMATE_BIN at one.",
            pytrace=False,
        )
    started = []

    def start(scenario=SCENARIO):
        m = MockProcess(binary, scenario)
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture
def stopper():
    """Stops the mocks a test started as soon as the test ends."""
    mocks = []
    yield mocks.append
    for m in mocks:
        m.stop()


@pytest.fixture(scope="module")
def module_mock(start_mock):
    """A mock for this module's read-only tests."""
    m = start_mock()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def api(module_mock):
    return module_mock.client()


@pytest.fixture
def fresh(start_mock, stopper):
    """A new mock for a test that changes state."""
    m = start_mock()
    stopper(m)
    return m


def scenario_with_faults(tmp_path, faults):
    data = json.loads(SCENARIO.read_text())
    data["faults"] = faults
    path = tmp_path / "faulty.json"
    path.write_text(json.dumps(data))
    return path


# --- Entry point and collections -------------------------------------------------------


def test_entrypoint_builds_the_collections_and_identity(api, module_mock):
    names = set(api.collections.all_names)
    assert {"services", "vms", "requests", "service_requests", "request_tasks", "tasks"} <= names
    assert "services" in api.collections
    assert api.collections.services._href == module_mock.url + "/api/services"
    assert api.collections.services.description == "Services"
    assert api.version == "4.0.0"
    assert api.versions == ["4.0.0"]
    # Everything else in the entry point becomes an attribute of the client.
    assert api.identity["userid"] == "admin"
    assert api.identity["group"] == "EvmGroup-super_administrator"
    assert api.server_info["appliance"] == "EVM"
    assert api.server_info["version"] == "18.0.0"


def test_api_version_opens_the_advertised_versioned_entrypoint(api, module_mock):
    # The client follows `versions[].href` (…/api/v4.0.0) and uses it as its entry point.
    v4 = api.api_version("4.0.0")
    assert v4.on_latest_version
    services = v4.collections.services
    assert services._href == module_mock.url + "/api/v4.0.0/services"
    bundle = services(1000)
    assert bundle.name == "Three-tier bundle"
    assert bundle._href == module_mock.url + "/api/v4.0.0/services/1000"


EXPECTED_SERVICES = {
    "1000": ("Three-tier bundle", "error_in_provisioning"),
    "1001": ("web tier", "provisioned"),
    "1002": ("legacy tier", "provisioned"),
    "1003": ("app tier", "provisioned"),
    "1004": ("db tier", "error_in_provisioning"),
    "1005": ("cache tier", "provisioned"),
    "1100": ("Standalone service", "provisioned"),
}


def test_listing_services_gives_the_bundle_and_its_children(api):
    services = api.collections.services
    got = {s.id: (s.name, s.lifecycle_state) for s in services}  # ?expand=resources
    assert got == EXPECTED_SERVICES
    assert services.count == 7
    assert len(services) == 7
    children = sorted(s.id for s in services.all if getattr(s, "ancestry", None) == "1000")
    assert children == ["1001", "1002", "1003", "1004", "1005"]


def test_retirement_columns_of_the_children(api):
    by_id = {s.id: s for s in api.collections.services.all}
    assert by_id["1001"].retired is False
    assert by_id["1002"].retired is True
    assert by_id["1002"].retirement_state == "retired"
    assert by_id["1002"].retires_on == datetime.datetime(2024, 5, 2, tzinfo=UTC)
    assert by_id["1003"].retirement_state == "retiring"


def test_get_one_service_by_id(api):
    bundle = api.collections.services.get(id=1000)  # filter[]=id = 1000, then a GET
    assert isinstance(bundle, Entity)
    assert bundle.id == "1000"
    assert bundle.name == "Three-tier bundle"
    assert bundle.description == "web + app + db + cache"
    assert bundle.lifecycle_state == "error_in_provisioning"
    # The client parses known time fields.
    assert bundle.created_at == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    lazy = api.collections.services(1005)  # only an href until an attribute is read
    assert lazy.name == "cache tier"
    assert lazy.exists
    with pytest.raises(ValueError, match="No such 'services'"):
        api.collections.services.get(name="no such service")


def test_bundle_children_through_attributes(api):
    bundle = api.collections.services(1000, attributes=["direct_service_children", "all_service_children"])
    direct = {c["id"]: (c["name"], c["lifecycle_state"]) for c in bundle.direct_service_children}
    assert direct == {k: v for k, v in EXPECTED_SERVICES.items() if k not in ("1000", "1100")}
    assert all(c["href"].endswith("/api/services/" + c["id"]) for c in bundle.direct_service_children)
    assert {c["id"] for c in bundle.all_service_children} == set(direct)

    child = api.collections.services(1004, attributes=["parent_service"])
    assert child.parent_service["id"] == "1000"
    assert child.parent_service["name"] == "Three-tier bundle"

    # The same through all_include_attributes (expand=resources&attributes=…).
    with_children = {
        s.id: [c["id"] for c in s.direct_service_children]
        for s in api.collections.services.all_include_attributes(["direct_service_children"])
    }
    assert with_children["1000"] == ["1001", "1002", "1003", "1004", "1005"]
    assert with_children["1005"] == []


def test_find_by_filter_and_query_string(api):
    services = api.collections.services
    provisioned = services.find_by(lifecycle_state="provisioned")
    assert sorted(s.id for s in provisioned) == ["1001", "1002", "1003", "1005", "1100"]
    assert len(provisioned) == 5

    web = services.find_by(name="web tier", lifecycle_state="provisioned")
    assert [s.id for s in web] == ["1001"]

    either = services.filter(Q("name", "=", "db tier") | Q("name", "=", "web tier"))
    assert sorted(s.name for s in either) == ["db tier", "web tier"]

    tiers = services.filter(Q("name", "=", "%tier") & Q("lifecycle_state", "!=", "provisioned"))
    assert [s.id for s in tiers] == ["1004"]

    top = services.raw_filter(["ancestry = NULL"])
    assert sorted(s.id for s in top) == ["1000", "1100"]

    page = services.query_string(
        expand="resources", sort_by="name", sort_order="desc", limit=2, offset=1,
        **{"filter[]": "lifecycle_state = 'provisioned'"}
    )
    assert [r.name for r in page.resources] == ["legacy tier", "cache tier"]
    assert len(page) == 2


def test_subcollections_vms_and_request_tasks(api):
    web = api.collections.services(1001)
    assert "vms" in web.subcollections  # from OPTIONS /api/services
    vms = web.vms
    assert sorted((v.id, v.name) for v in vms) == [("2001", "web-01"), ("2002", "web-02")]

    # The failed provision request: its tasks show which child failed.
    request = api.collections.service_requests(3000)
    assert request.status == "Error"
    tasks = {t.id: t for t in request.request_tasks}
    assert len(tasks) == 6
    # The client sets no attribute for a null column (reading it would raise
    # AttributeError after another GET), so the top task is the one without a parent id.
    parent_of = {i: t.__dict__.get("miq_request_task_id") for i, t in tasks.items()}
    top = [i for i, p in parent_of.items() if p is None]
    assert top == ["4000"]
    assert tasks["4000"].destination_type == "Service"
    assert tasks["4000"].destination_id == "1000"
    failed = [t for i, t in tasks.items() if t.status == "Error" and parent_of[i] == "4000"]
    assert [(t.destination_type, t.destination_id) for t in failed] == [("Service", "1004")]


def test_actions_are_read_from_the_server(api):
    svc = api.collections.services(1001)
    assert "request_retire" in svc.action
    assert "retire" in svc.action
    assert "request_retire" in api.collections.services.action
    assert "request_retire" in api.collections.vms(2001).action
    with pytest.raises(AttributeError, match="No such action"):
        svc.action.no_such_action


def test_missing_id_raises_api_exception(api):
    with pytest.raises(APIException, match=r"RecordNotFound: Couldn't find Service with 'id'=99999"):
        api.collections.services(99999).name
    assert api.response.status_code == 404
    assert api.response.json()["error"]["kind"] == "not_found"
    assert not api.collections.vms(99999).exists


def test_wrong_credentials_raise_api_exception(module_mock):
    with pytest.raises(APIException, match="Authentication failed"):
        module_mock.client(password="not-smartvm")
    with pytest.raises(APIException, match="Authentication failed"):
        module_mock.client(user="nobody")


def test_token_auth(module_mock):
    api = module_mock.client()
    token = api.get(module_mock.url + "/api/auth")["auth_token"]
    by_token = ManageIQClient(module_mock.url + "/api", dict(token=token), verify_ssl=False)
    assert by_token.identity["userid"] == "admin"
    assert by_token.collections.services(1100).name == "Standalone service"
    with pytest.raises(APIException):
        ManageIQClient(module_mock.url + "/api", dict(token="bogus"), verify_ssl=False)


# --- Actions (a fresh mock each) -------------------------------------------------------


def test_service_request_retire_creates_a_service_retire_request(fresh):
    api = fresh.client()
    svc = api.collections.services(1001)
    assert svc.retired is False
    request = svc.action.request_retire()

    # The result is an Entity of the requests collection, with the request's data.
    assert isinstance(request, Entity)
    assert request.collection.name == "requests"
    assert request.type == "ServiceRetireRequest"
    assert request.request_state == "pending"
    assert request.approval_state == "pending_approval"
    assert request.options["src_ids"] == [1001]
    assert request._href == f"{fresh.url}/api/requests/{request.id}"
    body = api.response.json()
    assert api.response.status_code == 200
    assert body["type"] == "ServiceRetireRequest"

    # Read it back through the requests collection. An expanded listing does not poll;
    # iterating a find_by result would (it GETs each resource by id).
    listed = api.collections.requests.query_string(
        expand="resources", **{"filter[]": "type = 'ServiceRetireRequest'"}
    ).resources
    assert [(r.id, r.source_id, r.request_state) for r in listed] == [(request.id, "1001", "pending")]
    assert api.collections.requests.find_by(type="ServiceRetireRequest")[0].id == request.id

    # Polled by id, it moves pending → active → finished (one step per poll, or per 5 s of
    # the mock's clock) and retires the service and its VMs.
    states = []
    for _ in range(2):
        request.reload()
        states.append(request.request_state)
    assert states[-1] == "finished", states
    assert request.status == "Ok"
    svc.reload()
    assert svc.retired is True
    assert sorted((v.name, v.retired) for v in svc.vms) == [("web-01", True), ("web-02", True)]


def test_request_retire_is_not_idempotent_on_a_retired_service(fresh):
    # ManageIQ answers 200 and the request fails later: clients must check `retired` first.
    api = fresh.client()
    legacy = api.collections.services(1002)
    assert legacy.retired is True
    request = legacy.action.request_retire()
    assert request.type == "ServiceRetireRequest"
    for _ in range(2):
        request.reload()
    assert request.request_state == "finished"
    assert request.status == "Error"
    assert "already retired" in request.message


def test_vm_request_retire(fresh):
    api = fresh.client()
    vm = api.collections.vms(2005)
    assert vm.retired is False
    result = vm.action.request_retire()
    body = api.response.json()
    assert body["success"] is True
    assert "cache-01" in body["message"]
    assert body["task_href"] == f"{fresh.url}/api/tasks/{body['task_id']}"
    # The client makes an Entity of the result's href (the VM) and keeps the result fields
    # only in its raw data: they are no attributes until the entity is reloaded.
    assert isinstance(result, Entity)
    assert result._href == vm._href
    assert "success" not in result.__dict__
    assert result._data["task_id"] == body["task_id"]

    task = api.collections.tasks(body["task_id"])
    states = []
    for _ in range(2):
        task.reload()
        states.append(task.state)
    # One step per poll (or per 5 s of the mock's clock, whichever is further).
    assert states[0] in ("Active", "Finished") and states[-1] == "Finished", states
    assert task.status == "Ok"
    vm.reload()
    assert vm.retired is True


def test_bulk_request_retire_on_the_services_collection(fresh):
    api = fresh.client()
    services = api.collections.services
    results = services.action.request_retire(services(1001), services(1005))
    assert [type(r) for r in results] == [Entity, Entity]
    assert [r.type for r in results] == ["ServiceRetireRequest"] * 2
    assert [r.options["src_ids"] for r in results] == [[1001], [1005]]
    assert {r.collection.name for r in results} == {"requests"}
    sent = api.response.request
    assert sent.url == fresh.url + "/api/services"
    assert json.loads(sent.body) == {
        "action": "request_retire",
        "resources": [
            {"href": f"{fresh.url}/api/services/1001"},
            {"href": f"{fresh.url}/api/services/1005"},
        ],
    }
    listed = api.collections.requests.find_by(type="ServiceRetireRequest")
    assert sorted(r.source_id for r in listed) == ["1001", "1005"]


def test_bulk_request_retire_on_the_vms_collection(fresh):
    api = fresh.client()
    vms = api.collections.vms
    results = vms.action.request_retire(vms(2001), {"href": f"{fresh.url}/api/vms/99999"})
    body = api.response.json()
    assert api.response.status_code == 200
    assert [r["success"] for r in body["results"]] == [True, False]
    assert "99999" in body["results"][1]["message"]
    # The client turns both items into VM entities: the failure is visible only in the body.
    assert [r._href for r in results] == [f"{fresh.url}/api/vms/2001", f"{fresh.url}/api/vms/99999"]


def test_a_read_only_group_is_forbidden(fresh):
    auditor = fresh.client(user="auditor", password="auditor")
    svc = auditor.collections.services(1001)
    assert svc.name == "web tier"  # reading is allowed
    with pytest.raises(APIException, match="Use of Action request_retire is forbidden"):
        svc.action.request_retire()
    assert auditor.response.status_code == 403
    assert fresh.client().collections.services(1001).retired is False


def test_a_failed_single_action_raises_with_the_status_only(tmp_path, start_mock, stopper):
    faulty = start_mock(scenario_with_faults(tmp_path, {"rules": [
        {"method": "POST", "path": "/api/services/:id", "action_failure": "Retirement refused", "times": 1}
    ]}))
    stopper(faulty)
    api = faulty.client()
    svc = api.collections.services(1005)
    with pytest.raises(APIException, match="HTTP status 400"):
        svc.action.request_retire()
    body = api.response.json()
    assert body["success"] is False
    assert body["message"] == "Retirement refused"
    assert "error" not in body
    # The rule fired once: the retry goes through.
    assert svc.action.request_retire().type == "ServiceRetireRequest"
