"""Offscreen OpenGL renderer (moderngl on EGL; Mesa llvmpipe on machines without a GPU).

Why moderngl: measured fastest of the offscreen options on 2 CPU cores (shared/docs/rendering.md),
and it gives full control of the passes the generator needs:

1. a sun shadow map (depth only, orthographic, fitted to the part of the scene being looked at),
2. a colour pass with 4x MSAA: Lambert sun + sky/ground ambient, PCF shadows, a photo-textured
   ground, distance haze, a sky gradient, then translucent smoke blended on top,
3. an instance-ID pass (no MSAA, exact per-pixel object ids) from which labels are computed, so
   occluded and off-frame parts of an object never count towards its box.

The projection is built from OpenCV intrinsics (``camera.gl_projection``), so the rendered
image agrees with ``camera.project`` to a fraction of a pixel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .camera import Intrinsics, Pose, gl_projection, gl_view
from .mesh import Mesh

if TYPE_CHECKING:  # an optional dependency (the synth extra), imported when a context opens
    import moderngl

ID_GROUND = 0  # ground and sky: nothing to label
ID_UNLABELLED = 1  # geometry that occludes but carries no label (conductors, houses)

_VS = """
#version 330
uniform mat4 u_vp;
uniform mat4 u_light;
in vec3 in_pos;
in vec3 in_nrm;
in vec3 in_col;
in uint in_id;
out vec3 v_pos;
out vec3 v_nrm;
out vec3 v_col;
out vec4 v_light;
flat out uint v_id;
void main() {
    v_pos = in_pos;
    v_nrm = in_nrm;
    v_col = in_col;
    v_id = in_id;
    v_light = u_light * vec4(in_pos, 1.0);
    gl_Position = u_vp * vec4(in_pos, 1.0);
}
"""

_FS_COLOUR = """
#version 330
uniform vec3 u_cam;
uniform vec3 u_sun_dir;
uniform vec3 u_sun_col;
uniform vec3 u_sky_amb;
uniform vec3 u_ground_amb;
uniform vec3 u_haze_col;
uniform float u_haze_density;
uniform float u_alpha;
uniform int u_textured;
uniform int u_soft_edges;
uniform int u_shadowed;
uniform float u_tile;
uniform sampler2D u_tex;
uniform sampler2DShadow u_shadow;
in vec3 v_pos;
in vec3 v_nrm;
in vec3 v_col;
in vec4 v_light;
flat in uint v_id;
out vec4 f_col;
float shadow() {
    vec3 p = v_light.xyz / v_light.w * 0.5 + 0.5;
    if (p.x <= 0.0 || p.x >= 1.0 || p.y <= 0.0 || p.y >= 1.0) return 1.0;
    vec2 texel = 1.0 / vec2(textureSize(u_shadow, 0));
    float s = 0.0;
    for (int i = -1; i <= 1; i++)
        for (int j = -1; j <= 1; j++)
            s += texture(u_shadow, vec3(p.xy + vec2(i, j) * texel, p.z - 0.0015));
    return s / 9.0;
}
void main() {
    vec3 n = normalize(v_nrm);
    vec3 v = normalize(u_cam - v_pos);
    if (dot(n, v) < 0.0) n = -n;
    vec3 base = v_col;
    if (u_textured == 1) {
        vec3 detail = texture(u_tex, v_pos.xy / u_tile).rgb;
        float broad = dot(texture(u_tex, v_pos.yx / (u_tile * 7.3)).rgb, vec3(0.33));
        base = detail * v_col * (0.8 + 0.4 * broad);
    }
    float ndl = max(dot(n, u_sun_dir), 0.0);
    vec3 amb = mix(u_ground_amb, u_sky_amb, 0.5 + 0.5 * n.z);
    float lit = u_shadowed == 1 ? shadow() : 1.0;
    vec3 c = base * (u_sun_col * ndl * lit + amb);
    float d = length(u_cam - v_pos);
    c = mix(c, u_haze_col, 1.0 - exp(-d * u_haze_density));
    float a = u_alpha;
    if (u_soft_edges == 1) a *= pow(abs(dot(normalize(v_nrm), v)), 1.5);
    f_col = vec4(c, a);
}
"""

# Ids are written as 24-bit RGB in an 8-bit target: k/255 is exact in unorm8, and a plain
# colour clear works (clearing an integer target through glClearColor is undefined).
_FS_ID = """
#version 330
flat in uint v_id;
out vec4 f_id;
void main() {
    f_id = vec4(float(v_id & 255u), float((v_id >> 8) & 255u), float((v_id >> 16) & 255u),
                255.0) / 255.0;
}
"""

_FS_DEPTH = """
#version 330
void main() {}
"""

_VS_SKY = """
#version 330
in vec2 in_xy;
out vec2 v_xy;
void main() { v_xy = in_xy; gl_Position = vec4(in_xy, 0.9999, 1.0); }
"""

_FS_SKY = """
#version 330
uniform mat4 u_inv_vp;
uniform vec3 u_cam;
uniform vec3 u_zenith;
uniform vec3 u_haze_col;
in vec2 v_xy;
out vec4 f_col;
void main() {
    vec4 p = u_inv_vp * vec4(v_xy, 1.0, 1.0);
    vec3 dir = normalize(p.xyz / p.w - u_cam);
    float t = pow(clamp(dir.z, 0.0, 1.0), 0.45);
    f_col = vec4(mix(u_haze_col, u_zenith, t), 1.0);
}
"""


@dataclass(frozen=True)
class Lighting:
    """Sun, sky and atmosphere of one shot (randomised by the scene sampler)."""

    sun_azimuth: float  # degrees clockwise from north
    sun_elevation: float  # degrees above the horizon
    sun_rgb: tuple[float, float, float] = (0.85, 0.82, 0.75)
    sky_ambient: tuple[float, float, float] = (0.42, 0.45, 0.5)
    ground_ambient: tuple[float, float, float] = (0.3, 0.28, 0.25)
    haze_rgb: tuple[float, float, float] = (0.75, 0.78, 0.82)
    haze_density: float = 0.0004  # per metre
    zenith_rgb: tuple[float, float, float] = (0.45, 0.6, 0.85)

    @property
    def sun_direction(self) -> np.ndarray:
        az, el = np.radians(self.sun_azimuth), np.radians(self.sun_elevation)
        return np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])


@dataclass(frozen=True)
class SceneGeometry:
    """Everything drawn: opaque triangles with ids, translucent (smoke) triangles, ground."""

    opaque: Mesh
    opaque_ids: np.ndarray  # (3T,) uint32, one per vertex
    translucent: Mesh
    translucent_ids: np.ndarray
    ground_texture: np.ndarray  # (H, W, 3) uint8 RGB, seamless when tiled
    ground_tile_m: float  # metres covered by one texture tile
    ground_half_extent: float = 6000.0


def create_context() -> Any:
    """A headless OpenGL 3.3 context on EGL (no X display needed).

    Typed Any rather than moderngl.Context: the renderer reads program members by name
    (``prog["mvp"].write``), which moderngl types as a union without a common write/value."""
    os.environ.setdefault("MESA_SHADER_CACHE_DISABLE", "true")
    import moderngl

    # moderngl's stub types each extra setting as a dict; backend is the name (its docs)
    return moderngl.create_context(standalone=True, backend="egl",  # type: ignore[arg-type]
                                   require=330)


def _f4(m: np.ndarray) -> bytes:
    """A row-major numpy matrix as the column-major bytes GLSL expects."""
    return np.ascontiguousarray(m.T, dtype="f4").tobytes()


def _interleave(mesh: Mesh, ids: np.ndarray) -> bytes:
    rec = np.empty(mesh.triangle_count * 3, dtype=[("p", "f4", 3), ("n", "f4", 3),
                                                   ("c", "f4", 3), ("i", "u4")])
    rec["p"] = mesh.positions
    rec["n"] = mesh.normals
    rec["c"] = mesh.colors
    rec["i"] = ids
    return rec.tobytes()


class Renderer:
    """One GL context, reused for every image; geometry is uploaded once per scene."""

    def __init__(self, shadow_size: int = 2048, samples: int = 4) -> None:
        self.ctx = create_context()
        self.samples = min(samples, self.ctx.max_samples)
        self.shadow_size = shadow_size
        self.prog = self.ctx.program(vertex_shader=_VS, fragment_shader=_FS_COLOUR)
        self.prog_id = self.ctx.program(vertex_shader=_VS, fragment_shader=_FS_ID)
        self.prog_depth = self.ctx.program(vertex_shader=_VS, fragment_shader=_FS_DEPTH)
        self.prog_sky = self.ctx.program(vertex_shader=_VS_SKY, fragment_shader=_FS_SKY)
        tri = np.array([[-1, -1], [3, -1], [-1, 3]], dtype="f4")
        self.sky_vao = self.ctx.vertex_array(self.prog_sky,
                                             [(self.ctx.buffer(tri.tobytes()), "2f", "in_xy")])
        self.shadow_tex = self.ctx.depth_texture((shadow_size, shadow_size))
        self.shadow_tex.compare_func = "<="
        self.shadow_tex.repeat_x = self.shadow_tex.repeat_y = False
        self.shadow_fbo = self.ctx.framebuffer(depth_attachment=self.shadow_tex)
        self._targets: dict[tuple[int, int], tuple] = {}  # type: ignore[type-arg]
        self._vaos: dict[str, list] = {}  # type: ignore[type-arg]
        self._resources: list = []  # type: ignore[type-arg]
        self.ground_tex: moderngl.Texture | None = None
        self.geometry: SceneGeometry | None = None

    # -- scene upload -------------------------------------------------------------------
    def load(self, geo: SceneGeometry) -> None:
        for r in self._resources:
            r.release()
        self._resources = []
        self._vaos = {"opaque": [], "translucent": [], "ground": []}
        e = geo.ground_half_extent
        gpos = np.array([[-e, -e, 0], [e, -e, 0], [e, e, 0], [-e, -e, 0], [e, e, 0], [-e, e, 0]],
                        dtype="f4")
        ground = Mesh(gpos, np.tile(np.array([0, 0, 1], "f4"), (6, 1)), np.ones((6, 3), "f4"))
        for name, mesh, ids in (("opaque", geo.opaque, geo.opaque_ids),
                                ("translucent", geo.translucent, geo.translucent_ids),
                                ("ground", ground, np.zeros(6, np.uint32))):
            if mesh.triangle_count == 0:
                continue
            buf = self.ctx.buffer(_interleave(mesh, ids))
            self._resources.append(buf)
            for prog in (self.prog, self.prog_id, self.prog_depth):
                attrs = [a for a in ("in_pos", "in_nrm", "in_col", "in_id") if a in prog]
                fmt = " ".join({"in_pos": "3f", "in_nrm": "3f", "in_col": "3f",
                                "in_id": "u"}[a] if a in attrs else
                               {"in_pos": "12x", "in_nrm": "12x", "in_col": "12x",
                                "in_id": "4x"}[a]
                               for a in ("in_pos", "in_nrm", "in_col", "in_id"))
                vao = self.ctx.vertex_array(prog, [(buf, fmt, *attrs)])
                self._resources.append(vao)
                self._vaos[name].append(vao)
        tex = np.ascontiguousarray(geo.ground_texture[::-1])  # GL rows start at the bottom
        ground_tex = self.ctx.texture((tex.shape[1], tex.shape[0]), 3, tex.tobytes())
        ground_tex.build_mipmaps()
        ground_tex.anisotropy = 8.0
        self.ground_tex = ground_tex
        self._resources.append(ground_tex)
        self.geometry = geo

    def _target(self, w: int, h: int) -> tuple:  # type: ignore[type-arg]
        if (w, h) not in self._targets:
            for old in self._targets.values():
                for r in old:
                    r.release()
            self._targets.clear()
            ctx = self.ctx
            ms_col = ctx.renderbuffer((w, h), 4, samples=self.samples)
            ms_depth = ctx.depth_renderbuffer((w, h), samples=self.samples)
            ms = ctx.framebuffer([ms_col], ms_depth)
            col = ctx.renderbuffer((w, h), 4)
            resolved = ctx.framebuffer([col])
            ids = ctx.renderbuffer((w, h), 4)
            id_depth = ctx.depth_renderbuffer((w, h))
            idfbo = ctx.framebuffer([ids], id_depth)
            self._targets[(w, h)] = (ms, resolved, idfbo, ms_col, ms_depth, col, ids, id_depth)
        return self._targets[(w, h)]

    # -- one image ----------------------------------------------------------------------
    def render(self, pose: Pose, intr: Intrinsics, light: Lighting,
               shadow_centre: np.ndarray, shadow_radius: float,
               near: float = 0.3, far: float = 12000.0) -> tuple[np.ndarray, np.ndarray]:
        """RGB image (H, W, 3) uint8 and instance ids (H, W) uint32, top row first."""
        import moderngl

        assert self.geometry is not None, "load() a scene first"
        geo = self.geometry
        ctx = self.ctx
        w, h = intr.width, intr.height
        vp = gl_projection(intr, near, far) @ gl_view(pose)
        light_m = _light_matrix(light.sun_direction, shadow_centre, shadow_radius)

        # 1. shadow map
        self.shadow_fbo.use()
        ctx.viewport = (0, 0, self.shadow_size, self.shadow_size)
        self.shadow_fbo.clear(depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE | moderngl.BLEND)
        self.prog_depth["u_vp"].write(_f4(light_m))
        for vao in self._vaos["opaque"]:  # smoke casts no hard shadow
            if vao.program is self.prog_depth:
                vao.render(moderngl.TRIANGLES)

        ms, resolved, idfbo, *_ = self._target(w, h)
        # 2. colour
        ms.use()
        ctx.viewport = (0, 0, w, h)
        ms.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        sky = self.prog_sky
        sky["u_inv_vp"].write(_f4(np.linalg.inv(vp)))
        sky["u_cam"].value = tuple(pose.centre)
        sky["u_zenith"].value = light.zenith_rgb
        sky["u_haze_col"].value = light.haze_rgb
        ctx.disable(moderngl.DEPTH_TEST)
        self.sky_vao.render(moderngl.TRIANGLES)
        ctx.enable(moderngl.DEPTH_TEST)
        p = self.prog
        p["u_vp"].write(_f4(vp))
        p["u_light"].write(_f4(light_m))
        p["u_cam"].value = tuple(pose.centre)
        p["u_sun_dir"].value = tuple(light.sun_direction)
        p["u_sun_col"].value = light.sun_rgb
        p["u_sky_amb"].value = light.sky_ambient
        p["u_ground_amb"].value = light.ground_ambient
        p["u_haze_col"].value = light.haze_rgb
        p["u_haze_density"].value = light.haze_density
        p["u_tile"].value = geo.ground_tile_m
        p["u_shadow"].value = 0
        p["u_tex"].value = 1
        self.shadow_tex.use(0)
        assert self.ground_tex is not None
        self.ground_tex.use(1)
        for name, textured, alpha, soft in (("ground", 1, 1.0, 0), ("opaque", 0, 1.0, 0),
                                            ("translucent", 0, 0.8, 1)):
            p["u_textured"].value = textured
            p["u_alpha"].value = alpha
            p["u_soft_edges"].value = soft
            p["u_shadowed"].value = 1
            if name == "translucent":
                # Smoke: blended over the scene, front faces only (closed puffs), unshadowed;
                # shadow lookups on stacks of screen-filling puffs cost more than the rest.
                ctx.enable(moderngl.BLEND | moderngl.CULL_FACE)
                ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
                ctx.depth_mask = False
                p["u_shadowed"].value = 0
            for vao in self._vaos[name]:
                if vao.program is p:
                    vao.render(moderngl.TRIANGLES)
        ctx.depth_mask = True
        ctx.disable(moderngl.BLEND | moderngl.CULL_FACE)
        ctx.copy_framebuffer(resolved, ms)
        rgb = np.frombuffer(resolved.read(components=3), dtype=np.uint8).reshape(h, w, 3)[::-1]

        # 3. instance ids
        idfbo.use()
        idfbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self.prog_id["u_vp"].write(_f4(vp))
        for name in ("opaque", "translucent"):
            for vao in self._vaos[name]:
                if vao.program is self.prog_id:
                    vao.render(moderngl.TRIANGLES)
        raw = np.frombuffer(idfbo.read(components=3), dtype=np.uint8).reshape(h, w, 3)[::-1]
        ids = (raw[..., 0].astype(np.uint32) | (raw[..., 1].astype(np.uint32) << 8)
               | (raw[..., 2].astype(np.uint32) << 16))
        return np.ascontiguousarray(rgb), np.ascontiguousarray(ids)


def _light_matrix(sun_dir: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Orthographic view-projection of the sun, covering a sphere of ``radius`` at ``centre``."""
    f = -np.asarray(sun_dir, dtype=np.float64)  # light travels along -sun_dir
    f /= np.linalg.norm(f)
    up = np.array([0.0, 1.0, 0.0]) if abs(f[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    r = np.cross(f, up)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    eye = np.asarray(centre, dtype=np.float64) - f * radius * 3
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = r, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    near, far = 0.1, radius * 6
    proj = np.diag([1 / radius, 1 / radius, -2 / (far - near), 1.0])
    proj[2, 3] = -(far + near) / (far - near)
    return proj @ view
