"""No secret appears in any API answer or log of a real ``sluice up`` (the tests' grep)."""

import httpx
from tests.e2e.helpers import statuses, wait_for
from tests.sluice_process import SluiceProcess

SECRETS = {
    "env": "env-SECRET-4711",
    "access": "access-SECRET-4712",
    "key": "key-SECRET-4713",
    "dav": "dav-SECRET-4714",
    "cluster": "cluster-SECRET-4715",
}


def test_secrets_appear_in_no_answer_and_no_log(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    body = {
        "name": "secretive",
        "script": 'test -n "$API_KEY" && echo "the job has its key"',
        "environment": {"secrets": {"API_KEY": SECRETS["env"]}},
        "storage_providers": {
            "minio": {
                "elsewhere": {
                    "endpoint": "http://127.0.0.1:9",
                    "access_key": SECRETS["access"],
                    "secret_key": SECRETS["key"],
                }
            },
            "webdav": {
                "dav": {"hostname": "127.0.0.1:9", "login": "u", "password": SECRETS["dav"]}
            },
        },
        "clusters": {
            "cloud": {
                "endpoint": "http://127.0.0.1:9",
                "auth_user": "u",
                "auth_password": SECRETS["cluster"],
            }
        },
    }
    answers = [http.post("/system/services", json=body)]
    assert answers[0].status_code == 201, answers[0].text
    job = http.post("/job/secretive", content=b"aGk=").headers["X-Sluice-Job"]
    wait_for(lambda: statuses(http, "secretive") == ["Succeeded"], what="the job")
    answers += [
        http.get("/system/services"),
        http.get("/system/services/secretive"),
        http.get(f"/system/logs/secretive/{job}"),
        http.get("/system/logs/secretive"),
        http.get("/system/jobs/secretive"),
        http.get("/system/logs"),
        http.get("/system/status"),
        http.get("/system/services/secretive/deployment"),
    ]
    assert "the job has its key" in answers[3].text  # the job did get the secret
    shown = "\n".join(answer.text for answer in answers)
    sluice_server.stop()
    logs = "".join(  # the manager's own log (sluice-up.log) and the store's among them
        path.read_text(errors="replace")
        for path in sluice_server.data_dir.rglob("*.log")
        if path.is_file()
    )
    for name, secret in SECRETS.items():
        assert secret not in shown, f"the {name} secret is in an API answer"
        assert secret not in logs, f"the {name} secret is in a log"
    sluice_server.start()  # for the module's other users of the server
