"""Front end + back end recognition: the small model on the device (``linepatrol edge``), the
full model set on the server, and how far the two agree.

The device runs a small INT8 model on every photo it sees and sends the server only what
matters (photos with candidate findings, and for a fixed camera one photo now and then as
proof of coverage), with its own boxes attached; the server re-checks every photo it gets with
its full models. Everything here is core: it runs on the runtime install (no FastAPI, no
torch), and the service imports :mod:`linepatrol.edge.agreement` to judge the two.
"""
