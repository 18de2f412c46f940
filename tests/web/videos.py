"""Large, real, playable videos for the upload panel's tests and its benchmark."""

from __future__ import annotations

import io
import random
from functools import cache

import av

SIZE = (320, 240)
FPS = 10


@cache
def noisy_webm(min_bytes: int, seed: int = 11) -> bytes:
    """Return a VP8 WebM of seeded noise frames, encoded until it is at least min_bytes long.

    Noise does not compress, so every byte is a real frame: the file plays, seeks and decodes
    from end to end (a padded file would not, past its few real frames).
    """
    noise = random.Random(seed)
    out = io.BytesIO()
    with av.open(out, "w", format="webm", options={"fflags": "+bitexact"}) as box:
        # Quality pinned high and a bit rate above what noise needs: about 110 KB a frame.
        options = {"deadline": "realtime", "cpu-used": "8", "qmin": "0", "qmax": "4"}
        stream = box.add_stream("libvpx", rate=FPS, options=options | {"flags": "+bitexact"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.bit_rate = 100_000_000
        stream.codec_context.thread_count = 1
        index = 0
        while out.tell() < min_bytes:
            frame = av.VideoFrame(*SIZE, "yuv420p")
            for plane in frame.planes:
                plane.update(noise.randbytes(plane.line_size * plane.height))
            frame.pts = index
            box.mux(stream.encode(frame))
            index += 1
        box.mux(stream.encode(None))
    return out.getvalue()
