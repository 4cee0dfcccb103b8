"""Serving HTTP: a gunicorn worker that reads each request whole before a thread runs it.

`framing` decides from the bytes alone when a request is whole (or malformed); `worker`
is the gunicorn worker class that buffers connections on its event loop until then.
"""
