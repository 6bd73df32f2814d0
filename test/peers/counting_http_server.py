"""python's http.server as `python3 -m http.server --protocol HTTP/1.0` runs it
(ThreadingHTTPServer, SimpleHTTPRequestHandler, HTTP/1.0: the server closes the
connection after every response), plus what the normal-ends tests need:

- GET /get/<id>  -> 200 "get:/get/<id>", with Content-Length;
- POST /echo     -> 200 "post:<body>", WITHOUT Content-Length: the body ends at EOF;
- GET /_counts   -> "<accepted> <closed>": the connections this server accepted
  and closed, those of /_counts itself left out;
- any other GET  -> SimpleHTTPRequestHandler (files of the current folder).

Usage: python3 counting_http_server.py <port> [folder]
"""
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.accepted = 0
        self.closed = 0
        # The connections of /_counts requests (open ones, and how many ever), left out of the counts.
        self.status = set()
        self.status_count = 0

    def process_request(self, request, client_address):
        with self.lock:
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        super().shutdown_request(request)
        with self.lock:
            if request in self.status:
                self.status.discard(request)
            else:
                self.closed += 1


class Handler(SimpleHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def log_message(self, format, *args):
        pass

    def _send(self, body, length=True):
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        if length:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == '/_counts':
            server = self.server
            with server.lock:
                server.status.add(self.request)
                server.status_count += 1
                body = f'{server.accepted - server.status_count} {server.closed}'.encode()
            self._send(body)
        elif self.path.startswith('/get/'):
            self._send(f'get:{self.path}'.encode())
        else:
            super().do_GET()

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self._send(b'post:' + data, length=False)


if __name__ == '__main__':
    port = int(sys.argv[1])
    directory = sys.argv[2] if len(sys.argv) > 2 else '.'

    class Served(Handler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

    with CountingServer(('127.0.0.1', port), Served) as server:
        server.serve_forever()
