"""Read a running broker's topology from its management HTTP API (standard library only).

Every failure is one :class:`FetchError` whose message names the URL without credentials
and says what to do; no message, repr or exception chain holds the password.

A fetch is bounded as a whole, whatever the server does: it ends by its deadline (a server
that trickles its answers a byte at a time gets no more), reads at most `MAX_PAGES` pages
of one list (a ``page_count`` that never ends) and at most `MAX_FETCH_BYTES` in all (a
``Content-Length`` of gigabytes, a chunked body that never ends).
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from ..topology.records import field, record
from .documents import unreadable_json
from .uris import redact

if TYPE_CHECKING:
    import ssl
    import urllib.request

#: Items per page of the paged lists; 500 is the most the management API serves.
PAGE_SIZE = 500
#: The endpoints fetched, in order; they are the keys of what fetch_api returns.
ENDPOINTS = ("overview", "vhosts", "exchanges", "queues", "bindings", "policies",
             "operator-policies", "parameters")
#: Lists that may be long are paged, and only these fields are asked for.
_PAGED_COLUMNS = {
    "exchanges": "name,vhost,type,durable,auto_delete,internal,arguments",
    "queues": "name,vhost,durable,auto_delete,exclusive,arguments,type,messages,consumers",
}
#: Endpoints a user with the monitoring or management tag may be refused: the rest of the
#: topology is still worth drawing, without what they hold.
_OPTIONAL = {
    "operator-policies": "operator policies",
    "parameters": "shovels and federation upstreams",
}
#: Endpoints without a per-vhost form, fetched whole and filtered on this key.
_FILTERED = {"vhosts": "name", "parameters": "vhost"}
#: How an API path that does not exist answers (400 when it holds a %2F).
_NOT_HERE = (400, 404)
#: How many vhost names a "vhost does not exist" message lists.
_VHOSTS_SHOWN = 10
#: Seconds a whole fetch may take, every request of it. On the (shared, busy) test broker,
#: one vhost of 17,848 queues and 71,484 bindings took 67 to 95 s, 56 s of it the 36 pages
#: of queues: RabbitMQ 3.10 sorts the whole list for every page, so time grows with the
#: square of the queues, and 20,000 would take about 85 to 120 s. Five times that.
DEFAULT_DEADLINE = 600.0
#: Pages of one list a fetch reads: 500,000 entities a vhost, 25 times the 40 pages that
#: 20,000 queues in one vhost take.
MAX_PAGES = 1000
#: Bytes the answers of one fetch may hold together. That vhost answered 17.6 MiB (13.9 of
#: it the bindings, in one answer), so 20,000 queues with 80,000 bindings about 20 MiB,
#: and three times that with long names and arguments; 256 MiB is four times more. Parsed,
#: it takes a few GiB of memory: the most a documentation build should.
MAX_FETCH_BYTES = 256 * 1024 * 1024
#: Bytes read from an answer at a time, so that the byte limit is checked as it arrives.
_CHUNK = 1 << 16


class FetchError(Exception):
    """One user-facing message: names the URL without credentials and says what to do."""


class AccessRefused(FetchError):
    """The broker answered 401 or 403: wrong credentials, or a user without the rights."""


@record
class Connection:
    """Where the management API is and how to log in.

    ``url`` is ``http(s)://host:15672`` with the management path prefix, if any, and may
    end with ``/VHOST`` (percent-encoded) to read one vhost. User-info written in the URL
    (``http://user:password@host``) moves to ``user`` and ``password`` unless those are
    given, so the URL shown in messages and reprs carries no credentials.
    """

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: seconds each request may take to connect and to answer
    timeout: float = 10.0
    #: seconds the whole fetch may take
    deadline: float = DEFAULT_DEADLINE
    #: pages of one list, and bytes of all the answers, a fetch reads at most
    max_pages: int = MAX_PAGES
    max_bytes: int = MAX_FETCH_BYTES
    verify: bool = True
    cafile: str | None = None
    #: client certificate (and its key, when not in the same file)
    certfile: str | None = None
    keyfile: str | None = None
    #: the environment variable the password came from, for messages
    password_env: str | None = None

    def __post_init__(self) -> None:
        scheme, separator, rest = self.url.partition("://")
        authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
        userinfo, at, host = rest[:authority_end].rpartition("@")
        if not (separator and at):
            return
        name, has_password, secret = userinfo.partition(":")
        if self.user is None and name:
            self.user = unquote(name)
        if self.password is None and has_password:
            self.password = unquote(secret)
        self.url = f"{scheme}://{host}{rest[authority_end:]}"


@record
class _Answer:
    """An HTTP response, whatever its status."""

    #: the URL without its query, for messages
    url: str
    status: int
    reason: str
    body: bytes
    content_type: str
    location: str


def fetch_api(connection: Connection, vhost: str | None = None
              ) -> tuple[dict[str, Any], list[str]]:
    """GET every endpoint the topology needs; return ``({endpoint: body}, warnings)``.

    The keys are :data:`ENDPOINTS`. ``overview`` is an object, the rest are lists, the
    paged ones joined into one. With a vhost (given here, or as the last segment of the
    URL) every list holds that vhost only. Raises :class:`FetchError`.
    """
    api = _Api(connection)
    api.deadline.start()
    try:
        return _fetch(api, vhost)
    finally:
        api.deadline.cancel()


def _fetch(api: _Api, vhost: str | None) -> tuple[dict[str, Any], list[str]]:
    overview, url_vhost = api.locate()
    if vhost is not None and url_vhost is not None and vhost != url_vhost:
        raise FetchError(f"{api.base}: the URL names vhost {url_vhost!r} but vhost "
                         f"{vhost!r} was asked for: give one of them")
    vhost = url_vhost if vhost is None else vhost
    bodies: dict[str, Any] = {"overview": overview}
    warnings: list[str] = []
    for endpoint in ENDPOINTS[1:]:
        try:
            if vhost is None and endpoint in _PAGED_COLUMNS:
                # vhost by vhost: for each page of a whole-broker list the broker lists
                # every vhost's entities (measured: 4.2 s against 2.2 s for 5,000 queues)
                bodies[endpoint] = api.list_each_vhost(endpoint, bodies["vhosts"])
            else:
                bodies[endpoint] = api.list(endpoint, vhost)
        except AccessRefused as refused:
            if endpoint not in _OPTIONAL:
                raise
            warnings.append(f"{refused}; {_OPTIONAL[endpoint]} are not shown "
                            "(the policymaker or administrator tag allows reading them)")
            bodies[endpoint] = None  # not read: unknown, not empty
    if vhost is not None:
        for endpoint, key in _FILTERED.items():
            if bodies[endpoint] is not None:
                bodies[endpoint] = [item for item in bodies[endpoint]
                                    if isinstance(item, dict) and item.get(key) == vhost]
    return bodies, warnings


class _Deadline:
    """The end of a fetch. A per-request timeout bounds each wait for a byte, not a server
    that sends one byte per wait; so when the deadline passes, a timer shuts the socket of
    the request under way, and that request ends at once."""

    def __init__(self, seconds: float) -> None:
        import threading

        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.passed = False
        self.lock = threading.Lock()
        self.socket: Any = None  # the socket of the request under way
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True  # a process may end during a fetch

    def start(self) -> None:
        self.end = time.monotonic() + self.seconds
        self.timer.start()

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def over(self) -> bool:
        return self.passed or self.remaining() <= 0

    def watch(self, sock: Any) -> None:
        """Shut ``sock`` when the deadline passes (now, if it has)."""
        with self.lock:
            self.socket = sock
            if self.passed:
                _shut(sock)

    def expire(self) -> None:
        with self.lock:
            self.passed = True
            if self.socket is not None:
                _shut(self.socket)

    def cancel(self) -> None:
        self.timer.cancel()


def _shut(sock: Any) -> None:
    """End every read and write on a socket, from any thread (its owner closes it)."""
    import socket

    try:
        # the plain socket's shutdown, also for TLS: a TLS goodbye could block too
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


class _Api:
    """Requests to one management API, each failure turned into a FetchError."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        parts = _split_url(connection.url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path.rstrip("/")
        self.base = self.origin + self.path
        self.deadline = _Deadline(connection.deadline)
        self.opener = _opener(connection, parts.scheme, self.deadline)
        #: what the answers may still hold, in bytes
        self.bytes_left = connection.max_bytes
        self.authorization: str | None = None
        if connection.user is not None:
            token = f"{connection.user}:{connection.password or ''}".encode()
            self.authorization = "Basic " + base64.b64encode(token).decode("ascii")
        #: the vhosts list, once fetched: a "does not exist" message names them
        self.vhosts: list[Any] = []

    def locate(self) -> tuple[dict[str, Any], str | None]:
        """The overview, and the vhost the URL names, if any.

        The URL's last path segment is a vhost when the API is not under the whole
        path but under the rest: ``http://h:15672/orders`` or ``https://h/rabbitmq/%2F``.
        """
        answer = self.get(self.path + "/api/overview")
        head, _, last = self.path.rpartition("/")
        if answer.status in _NOT_HERE and last:
            parent = self.get(head + "/api/overview")
            if parent.status not in _NOT_HERE:
                self.path, self.base = head, self.origin + head
                return self.json(self.checked(parent), dict), unquote(last)
        if answer.status in _NOT_HERE:
            raise FetchError(
                f"{answer.url}: no management API there (HTTP {answer.status}): is the "
                "management plugin enabled (rabbitmq-plugins enable rabbitmq_management), "
                "and does the URL hold its path prefix (management.path_prefix), if one is "
                "set? A vhost at the end of the URL is percent-encoded (%2F for /)")
        return self.json(self.checked(answer), dict), None

    def list_each_vhost(self, endpoint: str, vhosts: list[Any]) -> list[Any]:
        """A list of every vhost, vhost by vhost. Vhosts the user may not read are left out,
        of ``vhosts`` too, as a whole-broker list leaves them out: a page that asks for one
        is told the source lacks it."""
        items: list[Any] = []
        for vhost in list(vhosts):
            name = vhost.get("name") if isinstance(vhost, dict) else None
            if isinstance(name, str):
                try:
                    items += self.list(endpoint, name)
                except AccessRefused:
                    vhosts.remove(vhost)
        return items

    def list(self, endpoint: str, vhost: str | None) -> list[Any]:
        """One endpoint's list, every page of it; limited to a vhost where the API can."""
        path = f"{self.path}/api/{endpoint}"
        scope = None if endpoint in _FILTERED else vhost
        if scope is not None:
            path += "/" + quote(scope, safe="")
        columns = _PAGED_COLUMNS.get(endpoint)
        if columns is None:
            body = self.json(self.checked(self.get(path), scope), list)
            if endpoint == "vhosts":
                self.vhosts = body
            return body
        items: list[Any] = []
        for page in range(1, self.connection.max_pages + 1):
            answer = self.get(f"{path}?page={page}&page_size={PAGE_SIZE}&columns={columns}")
            if page > 1 and _error_field(answer, "error") == "page_out_of_range":
                return items  # entities went away between two pages
            body = self.json(self.checked(answer, scope), (list, dict))
            if isinstance(body, list):
                return body  # a broker that ignores the paging parameters
            page_items, page_count = body.get("items"), body.get("page_count")
            if not isinstance(page_items, list) or not isinstance(page_count, int):
                raise FetchError(f"{answer.url}: the answer is not a page of {endpoint} "
                                 "(no items or page_count): is this a RabbitMQ management API?")
            if page_count > self.connection.max_pages:
                break
            items.extend(page_items)
            if page >= page_count:
                return items
        raise FetchError(f"{answer.url}: the list of {endpoint} has more than "
                         f"{self.connection.max_pages:,} pages of {PAGE_SIZE}, the most a "
                         "fetch reads: is this a RabbitMQ management API? (to read less, "
                         "end the URL with one vhost)")

    def checked(self, answer: _Answer, vhost: str | None = None) -> _Answer:
        """The answer when it is a 200, else the exception that explains it."""
        if answer.status == 200:
            return answer
        if answer.status in (401, 403):
            raise AccessRefused(self.refusal(answer))
        if answer.status == 404 and vhost is not None:
            raise FetchError(f"vhost {vhost!r} does not exist on {self.base}"
                             f"{_vhost_list(self.vhosts)}")
        if 300 <= answer.status < 400:
            raise FetchError(f"{answer.url}: redirects to {redact(answer.location)!r}: "
                             "give that address as the URL")
        raise FetchError(f"{answer.url}: HTTP {answer.status} {answer.reason}"
                         f"{_broker_says(answer)}")

    def refusal(self, answer: _Answer) -> str:
        """Why the broker said 401/403, and what the user can change."""
        user = self.connection.user
        said = _broker_says(answer)
        if user is None:
            return (f"{answer.url}: the broker asks who is calling (HTTP {answer.status}"
                    f"{said}): give a user and a password")
        reason = _error_field(answer, "reason") or ""
        if reason == "Not management user":
            hint = f"give user {user!r} the monitoring tag (or management)"
        elif "virtual host" in reason:
            hint = f"give user {user!r} permissions on that vhost"
        elif reason in ("", "Login failed"):
            hint = ("check the user and the password in $" + self.connection.password_env
                    if self.connection.password_env else "check the user and the password")
        else:
            hint = f"check the tags and permissions of user {user!r}"
        return (f"{answer.url}: the broker refused user {user!r} "
                f"(HTTP {answer.status}{said}): {hint}")

    def json(self, answer: _Answer, expected: type | tuple[type, ...]) -> Any:
        try:
            body = json.loads(answer.body)
        except (ValueError, RecursionError) as error:
            body = None  # not JSON: as wrong as JSON of the wrong shape
            unreadable = unreadable_json(error)
        else:
            unreadable = None
        if unreadable is not None:  # JSON, but beyond what can be read
            raise FetchError(f"{answer.url}: the answer cannot be read ({unreadable}): is "
                             "the URL the management API's address?")
        if not isinstance(body, expected):
            raise FetchError(
                f"{answer.url}: the answer is not the management API's JSON (Content-Type "
                f"{answer.content_type or 'none'}): is the URL the management API's address, "
                "not a proxy or a login page?")
        return body

    def get(self, path: str) -> _Answer:
        """Send one GET; answers of any status come back, transport failures raise."""
        import http.client
        import urllib.error
        import urllib.request

        url = self.origin + path
        # no Accept header: the broker answers 406, not 404, to an Accept: application/json
        # GET of a path it does not serve, and locate() must tell those paths apart
        request = urllib.request.Request(url)
        shown = url.partition("?")[0]  # messages name the endpoint, not the paging query
        if self.authorization is not None:
            # unredirected: a redirect to another host must not carry the password there
            request.add_unredirected_header("Authorization", self.authorization)
        timeout = min(self.connection.timeout, self.deadline.remaining())
        problem: str | None
        try:
            if timeout <= 0:
                raise TimeoutError  # the deadline has passed
            try:
                with self.opener.open(request, timeout=timeout) as response:
                    answer = _Answer(shown, response.status, response.reason,
                                     self.body(response, shown),
                                     response.headers.get("Content-Type", ""), "")
            except urllib.error.HTTPError as error:
                with error:
                    answer = _Answer(shown, error.code, str(error.reason),
                                     self.body(error, shown),
                                     error.headers.get("Content-Type", ""),
                                     error.headers.get("Location", ""))
        except FetchError as error:
            problem = str(error)
        except (OSError, http.client.HTTPException, ValueError) as error:
            problem = _transport_problem(error, shown, self.connection)
        else:
            problem = None
        if self.deadline.over():
            # whatever the shut socket made of the request (an error, a cut answer)
            problem = (f"{shown}: the fetch did not end within its deadline of "
                       f"{self.deadline.seconds:g} s: is the broker that slow, or does this "
                       "server send its answers a trickle at a time? A big, busy broker may "
                       "need a longer deadline ('deadline' in rabbitmq_topology_brokers, "
                       "--deadline on the command line), or to be read one vhost at a time")
        if problem is not None:
            # raised outside the except block: the exception chain keeps no request or header
            raise FetchError(problem)
        return answer

    def body(self, response: Any, url: str) -> bytes:
        """An answer's body, as long as the fetch's byte limit allows."""
        announced = response.headers.get("Content-Length", "").strip()
        if not (announced.isascii() and announced.isdigit()):
            announced = ""  # none, or none that http.client goes by either
        too_long = bool(announced) and (len(announced) > 15 or int(announced) > self.bytes_left)
        chunks = []
        while not too_long and (chunk := response.read(_CHUNK)):
            self.bytes_left -= len(chunk)
            too_long = self.bytes_left < 0
            chunks.append(chunk)
        if too_long:
            limit = self.connection.max_bytes
            said = f" (this one announces {announced} bytes)" if announced else ""
            raise FetchError(f"{url}: the answers hold more than {limit:,} bytes in all, the "
                             f"most a fetch reads{said}: is this a RabbitMQ management API? "
                             "(to read less, end the URL with one vhost)")
        return b"".join(chunks)


def _split_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{redact(url)!r} is not a management API address: write "
                         "http://HOST:15672 or https://HOST:15671, with the path prefix "
                         "if the API has one, and a percent-encoded vhost to read one vhost")
    return parts


def _opener(connection: Connection, scheme: str,
            deadline: _Deadline) -> urllib.request.OpenerDirector:
    import http.client
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect is an answer the user should see, not follow blindly

    def watched(base: type[http.client.HTTPConnection]) -> Any:
        class Watched(base):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()  # within the request's timeout, TLS handshake included
                deadline.watch(self.sock)
        return Watched

    http_connection = watched(http.client.HTTPConnection)
    https_connection = watched(http.client.HTTPSConnection)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(http_connection, request)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(https_connection, request, context=context)

    handlers: list[Any] = [NoRedirect(), Http()]
    if scheme == "https":
        context = _tls_context(connection)
        handlers.append(Https())
    return urllib.request.build_opener(*handlers)


def _tls_context(connection: Connection) -> ssl.SSLContext:
    import ssl

    try:
        context = ssl.create_default_context(cafile=connection.cafile)
        if not connection.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if connection.certfile:
            context.load_cert_chain(connection.certfile, connection.keyfile)
    except (OSError, ValueError) as error:
        problem = (f"cannot use the TLS files (cafile {connection.cafile!r}, certfile "
                   f"{connection.certfile!r}, keyfile {connection.keyfile!r}) for "
                   f"{connection.url}: {error}")
    else:
        return context
    raise FetchError(problem)


def _transport_problem(error: BaseException, url: str, connection: Connection) -> str:
    """The message for a request that got no HTTP answer."""
    import http.client
    import socket
    import ssl
    import urllib.error

    reason: Any = error.reason if isinstance(error, urllib.error.URLError) else error
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    if isinstance(reason, socket.gaierror):
        return f"{url}: unknown host {parts.hostname!r}: check the host name in the URL"
    if isinstance(reason, ConnectionRefusedError):
        return (f"{url}: connection refused by {where}: is the broker running? is the "
                "management plugin enabled on that port?")
    if isinstance(reason, TimeoutError):
        return (f"{url}: no answer from {where} within {connection.timeout:g} s: is that "
                "the management port, and can this machine reach it? (a slow broker needs "
                "a longer timeout)")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"{url}: the broker's TLS certificate is not trusted "
                f"({reason.verify_message}): give the CA certificate that signed it as "
                "cafile, or turn verify off for a test broker")
    # a TLS 1.3 server that refuses the client's certificate says so with an alert, or
    # resets the connection while the request is being sent (Python 3.13, by timing)
    if isinstance(reason, ssl.SSLError) or (
            parts.scheme == "https" and isinstance(reason, ConnectionResetError)
            and isinstance(error, urllib.error.URLError)):
        return (f"{url}: TLS handshake failed ({getattr(reason, 'reason', None) or reason}): "
                f"does {where} serve HTTPS (else write http://)? check cafile, certfile and "
                "keyfile")
    if isinstance(reason, (http.client.HTTPException, ConnectionError)):
        return (f"{url}: {where} did not answer HTTP: is it the management port (15672), "
                "not AMQP (5672)? write https:// if it serves TLS")
    if isinstance(reason, OSError):
        return f"{url}: cannot reach {where}: {reason.strerror or reason}"
    return f"{url}: the request failed: {reason}"


def _error_field(answer: _Answer, key: str) -> str | None:
    """A field of the management API's error object ``{"error": ..., "reason": ...}``."""
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):
        return None
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _broker_says(answer: _Answer) -> str:
    reason = _error_field(answer, "reason")
    return f": {reason[:200]}" if reason else ""


def _vhost_list(vhosts: list[Any]) -> str:
    names = sorted(v["name"] for v in vhosts if isinstance(v, dict)
                   and isinstance(v.get("name"), str))
    if not names:
        return ""
    shown = ", ".join(repr(name) for name in names[:_VHOSTS_SHOWN])
    more = f" and {len(names) - _VHOSTS_SHOWN} more" if len(names) > _VHOSTS_SHOWN else ""
    return f" (its vhosts: {shown}{more})"
