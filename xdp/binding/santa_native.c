// SPDX-License-Identifier: GPL-2.0-only
/*
 * santa_native: the Node-API binding over libbpf 1.1 for what Node cannot do itself: open and
 * load BPF objects, attach XDP programs (in any network namespace), pin and re-open objects,
 * read and write maps one element or one batch at a time, run BPF_PROG_TEST_RUN, and report the
 * map layout of santa_abi.h as the C compiler sees it.
 *
 * Every call is synchronous: each is one or a few bpf()/netlink syscalls, cheaper than a hop to
 * the thread pool, and setns() must happen on the thread that does the work anyway. Use it from
 * one JS thread: the table of loaded objects and libbpf's message capture are process-wide.
 *
 * Failures throw an Error whose `code` is the errno name (e.g. "ENOENT"), `errno` the number,
 * and whose message names the operation and the map, program or interface. Load failures also
 * carry `verifierLog` (the kernel's verdict per program) and `libbpfLog` (libbpf's warnings).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <node_api.h>

#include "santa_abi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUND_UP_8(n) (((n) + 7u) & ~7u)
#define PATH_BUF 4096
#define NAME_BUF 256
/* The kernel caps a verifier log at 16 MiB; 4 MiB holds the tail of any realistic failure. */
#define VERIFIER_LOG_SIZE (4u << 20)
#define LIBBPF_LOG_SIZE 16384
/* Kernel-internal "operation not supported" (no batch op for this map type) leaks to user space. */
#define ENOTSUPP_KERNEL 524

/* ---- errors ------------------------------------------------------------------------------ */

static const char *errno_name(int err)
{
	/* libbpf's own codes (enum libbpf_errno), e.g. for a file that is not a BPF ELF object. */
	static const char *const libbpf_names[] = {
		"LIBBPF_ERRNO__LIBELF", "LIBBPF_ERRNO__FORMAT",	  "LIBBPF_ERRNO__KVERSION",
		"LIBBPF_ERRNO__ENDIAN", "LIBBPF_ERRNO__INTERNAL", "LIBBPF_ERRNO__RELOC",
		"LIBBPF_ERRNO__LOAD",	"LIBBPF_ERRNO__VERIFY",	  "LIBBPF_ERRNO__PROG2BIG",
		"LIBBPF_ERRNO__KVER",	"LIBBPF_ERRNO__PROGTYPE", "LIBBPF_ERRNO__WRNGPID",
		"LIBBPF_ERRNO__INVSEQ", "LIBBPF_ERRNO__NLPARSE",
	};
	if (err == ENOTSUPP_KERNEL)
		return "ENOTSUPP";
	if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__START + (int)ARRAY_SIZE(libbpf_names))
		return libbpf_names[err - __LIBBPF_ERRNO__START];
	const char *name = strerrorname_np(err);
	return name ? name : "EUNKNOWN";
}

static const char *errno_text(int err)
{
	static char buf[128];
	if (err == ENOTSUPP_KERNEL)
		return "Operation not supported by this map or program type";
	if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END) {
		libbpf_strerror(err, buf, sizeof(buf));
		return buf;
	}
	return strerror(err);
}

static void set_string_prop(napi_env env, napi_value obj, const char *key, const char *value)
{
	napi_value v;
	if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
		napi_set_named_property(env, obj, key, v);
}

static void set_number_prop(napi_env env, napi_value obj, const char *key, double value)
{
	napi_value v;
	if (napi_create_double(env, value, &v) == napi_ok)
		napi_set_named_property(env, obj, key, v);
}

/* Builds (does not throw) an Error for errno `err`: "<what>: <strerror> (<EXXX>)". */
static napi_value make_errno_error(napi_env env, int err, const char *what)
{
	char msg[PATH_BUF + 512];
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, errno_text(err), errno_name(err));
	napi_value code, text, error;
	napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
	napi_create_error(env, code, text, &error);
	set_number_prop(env, error, "errno", err);
	return error;
}

static __attribute__((format(printf, 3, 4))) void throw_errno(napi_env env, int err,
							      const char *fmt, ...)
{
	char what[PATH_BUF + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	napi_throw(env, make_errno_error(env, err < 0 ? -err : err, what));
}

static __attribute__((format(printf, 2, 3))) void throw_arg(napi_env env, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
}

/* A failed napi_* call leaves an exception pending only sometimes; make sure one is. */
static void ensure_thrown(napi_env env, const char *what)
{
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (!pending)
		napi_throw_error(env, "ERR_NAPI", what);
}

#define NAPI_OK(env, call)                                   \
	do {                                                 \
		if ((call) != napi_ok) {                     \
			ensure_thrown(env, "N-API: " #call); \
			return NULL;                         \
		}                                            \
	} while (0)

/* ---- libbpf's own messages ---------------------------------------------------------------
 * libbpf explains many failures only through its print callback (e.g. which pinned map was
 * incompatible). While a call runs we keep its warnings so the thrown Error can carry them;
 * otherwise libbpf stays quiet unless SANTA_LIBBPF_DEBUG is set. */

static char libbpf_log[LIBBPF_LOG_SIZE];
static size_t libbpf_log_len;
static bool libbpf_capturing;
static bool libbpf_debug;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (libbpf_debug) {
		va_list copy;
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (libbpf_capturing && level <= LIBBPF_INFO && libbpf_log_len < sizeof(libbpf_log) - 1) {
		int n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len,
				  fmt, ap);
		if (n > 0)
			libbpf_log_len += (size_t)n;
		if (libbpf_log_len > sizeof(libbpf_log) - 1)
			libbpf_log_len = sizeof(libbpf_log) - 1;
	}
	return 0;
}

static void libbpf_capture_begin(void)
{
	libbpf_log_len = 0;
	libbpf_log[0] = '\0';
	libbpf_capturing = true;
}

static void libbpf_capture_end(void)
{
	libbpf_capturing = false;
}

/* ---- arguments ------------------------------------------------------------------------- */

static bool arg_is(napi_env env, napi_value v, napi_valuetype want)
{
	napi_valuetype t;
	return v && napi_typeof(env, v, &t) == napi_ok && t == want;
}

static bool arg_present(napi_env env, napi_value v)
{
	napi_valuetype t;
	return v && napi_typeof(env, v, &t) == napi_ok && t != napi_undefined && t != napi_null;
}

static bool arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out)
{
	double d;
	if (!arg_is(env, v, napi_number) || napi_get_value_double(env, v, &d) != napi_ok ||
	    d < 0 || d > UINT32_MAX || d != (double)(uint32_t)d) {
		throw_arg(env, "%s must be an integer in 0..4294967295", what);
		return false;
	}
	*out = (uint32_t)d;
	return true;
}

static bool arg_fd(napi_env env, napi_value v, const char *what, int *out)
{
	uint32_t u;
	if (!arg_u32(env, v, what, &u))
		return false;
	if (u > INT32_MAX) {
		throw_arg(env, "%s is not a file descriptor", what);
		return false;
	}
	*out = (int)u;
	return true;
}

static bool arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t size)
{
	size_t len;
	if (!arg_is(env, v, napi_string) ||
	    napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		throw_arg(env, "%s must be a string", what);
		return false;
	}
	if (len == 0 || len >= size) {
		throw_arg(env, "%s must be 1..%zu bytes long", what, size - 1);
		return false;
	}
	napi_get_value_string_utf8(env, v, buf, size, &len);
	return true;
}

/* Optional string: an absent value (undefined/null) leaves *out NULL. */
static bool arg_opt_string(napi_env env, napi_value v, const char *what, char *buf, size_t size,
			   const char **out)
{
	*out = NULL;
	if (!arg_present(env, v))
		return true;
	if (!arg_string(env, v, what, buf, size))
		return false;
	*out = buf;
	return true;
}

static bool arg_buffer(napi_env env, napi_value v, const char *what, void **data, size_t *len)
{
	bool is_buffer = false;
	if (!v || napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
	    napi_get_buffer_info(env, v, data, len) != napi_ok) {
		throw_arg(env, "%s must be a Buffer", what);
		return false;
	}
	return true;
}

static napi_value get_prop(napi_env env, napi_value obj, const char *key)
{
	napi_value v = NULL;
	if (!arg_is(env, obj, napi_object) || napi_get_named_property(env, obj, key, &v) != napi_ok)
		return NULL;
	return v;
}

static bool arg_opt_bool(napi_env env, napi_value obj, const char *key, bool *out)
{
	napi_value v = get_prop(env, obj, key);
	if (!arg_present(env, v))
		return true;
	if (!arg_is(env, v, napi_boolean)) {
		throw_arg(env, "option %s must be a boolean", key);
		return false;
	}
	return napi_get_value_bool(env, v, out) == napi_ok;
}

static bool arg_opt_u32(napi_env env, napi_value obj, const char *key, uint32_t *out)
{
	napi_value v = get_prop(env, obj, key);
	char what[64];
	if (!arg_present(env, v))
		return true;
	snprintf(what, sizeof(what), "option %s", key);
	return arg_u32(env, v, what, out);
}

/* ---- results --------------------------------------------------------------------------- */

static napi_value new_object(napi_env env)
{
	napi_value o = NULL;
	napi_create_object(env, &o);
	return o;
}

static napi_value new_buffer_copy(napi_env env, const void *data, size_t len)
{
	napi_value b = NULL;
	void *copy;
	if (napi_create_buffer_copy(env, len, data, &copy, &b) != napi_ok)
		ensure_thrown(env, "cannot allocate a Buffer");
	return b;
}

static void free_buffer(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	free(data);
}

/* Hands a malloc()ed block to JS without copying (a whole map's values can be 100+ MB);
 * falls back to a copy where external buffers are not allowed. Frees `data` either way. */
static napi_value adopt_buffer(napi_env env, void *data, size_t len)
{
	napi_value b = NULL;
	if (len == 0 || !data) {
		free(data);
		return new_buffer_copy(env, "", 0);
	}
	void *fitted = realloc(data, len);
	if (fitted)
		data = fitted;
	if (napi_create_external_buffer(env, len, data, free_buffer, NULL, &b) == napi_ok)
		return b;
	b = new_buffer_copy(env, data, len);
	free(data);
	return b;
}

static napi_value number(napi_env env, double d)
{
	napi_value v = NULL;
	napi_create_double(env, d, &v);
	return v;
}

static napi_value undefined(napi_env env)
{
	napi_value v = NULL;
	napi_get_undefined(env, &v);
	return v;
}

/* ---- map metadata ------------------------------------------------------------------------ */

struct map_meta {
	struct bpf_map_info info;
	size_t value_len; /* bytes user space reads or writes per element (all CPUs for per-CPU maps) */
};

static bool is_percpu_map(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static int num_possible_cpus(void)
{
	static int cached;
	if (cached <= 0)
		cached = libbpf_num_possible_cpus();
	return cached;
}

/* One BPF_OBJ_GET_INFO_BY_FD per call: map fds come from pins, ids and other loaders, so the
 * binding cannot know the layout, and checking every key and value length against the map
 * turns a silent kernel over-read into a clear error. */
static bool map_meta(napi_env env, int fd, const char *op, struct map_meta *m)
{
	uint32_t len = sizeof(m->info);
	memset(m, 0, sizeof(*m));
	int err = bpf_obj_get_info_by_fd(fd, &m->info, &len);
	if (err) {
		throw_errno(env, err, "%s: fd %d is not a BPF map", op, fd);
		return false;
	}
	m->value_len = m->info.value_size;
	if (is_percpu_map(m->info.type)) {
		int ncpus = num_possible_cpus();
		if (ncpus <= 0) {
			throw_errno(env, ncpus, "%s: cannot count possible CPUs", op);
			return false;
		}
		m->value_len = ROUND_UP_8(m->info.value_size) * (size_t)ncpus;
	}
	return true;
}

static bool check_len(napi_env env, const char *op, const struct map_meta *m, const char *what,
		      size_t got, size_t want)
{
	if (got == want)
		return true;
	throw_errno(env, EINVAL, "%s on map %s (id %u): %s is %zu bytes, the map expects %zu", op,
		    m->info.name, m->info.id, what, got, want);
	return false;
}

/* ---- objects ------------------------------------------------------------------------------
 * Loaded objects stay open (their programs and maps live while the object does) until
 * closeObject(id). Ids are small integers into this table, never reused pointers. */

#define MAX_OBJECTS 64
static struct bpf_object *objects[MAX_OBJECTS];

static napi_value object_result(napi_env env, int id, struct bpf_object *obj)
{
	napi_value result = new_object(env), progs = new_object(env), maps = new_object(env);
	struct bpf_program *prog;
	struct bpf_map *map;

	bpf_object__for_each_program(prog, obj)
		set_number_prop(env, progs, bpf_program__name(prog), bpf_program__fd(prog));
	/* Internal maps (.rodata, .bss) are implementation details of the object. */
	bpf_object__for_each_map(map, obj)
		if (!bpf_map__is_internal(map))
			set_number_prop(env, maps, bpf_map__name(map), bpf_map__fd(map));
	set_number_prop(env, result, "id", id);
	napi_set_named_property(env, result, "progs", progs);
	napi_set_named_property(env, result, "maps", maps);
	return result;
}

/* Applies the mapMaxEntries option ({name: n}) before load. */
static bool apply_max_entries(napi_env env, struct bpf_object *obj, napi_value sizes,
			      const char *path)
{
	napi_value names;
	uint32_t count;
	if (!arg_present(env, sizes))
		return true;
	if (!arg_is(env, sizes, napi_object) ||
	    napi_get_property_names(env, sizes, &names) != napi_ok ||
	    napi_get_array_length(env, names, &count) != napi_ok) {
		throw_arg(env, "option mapMaxEntries must be an object {mapName: entries}");
		return false;
	}
	for (uint32_t i = 0; i < count; i++) {
		napi_value key, value;
		char name[NAME_BUF];
		uint32_t entries;
		if (napi_get_element(env, names, i, &key) != napi_ok ||
		    !arg_string(env, key, "mapMaxEntries key", name, sizeof(name)) ||
		    napi_get_property(env, sizes, key, &value) != napi_ok ||
		    !arg_u32(env, value, "mapMaxEntries value", &entries))
			return false;
		struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
		if (!map) {
			throw_errno(env, ENOENT, "loadObject %s: mapMaxEntries names map %s, which the object does not define",
				    path, name);
			return false;
		}
		int err = bpf_map__set_max_entries(map, entries);
		if (err) {
			throw_errno(env, err, "loadObject %s: set max_entries of map %s to %u", path,
				    name, entries);
			return false;
		}
	}
	return true;
}

/* Gives every map a pin path dir/<name>: libbpf then reuses a compatible pinned map (same
 * type, sizes, flags) instead of creating one, and pins the maps it creates. */
static bool apply_pin_dir(napi_env env, struct bpf_object *obj, const char *dir, const char *path)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		char pin[PATH_BUF];
		if (bpf_map__is_internal(map))
			continue;
		if ((size_t)snprintf(pin, sizeof(pin), "%s/%s", dir, bpf_map__name(map)) >= sizeof(pin)) {
			throw_errno(env, ENAMETOOLONG, "loadObject %s: pin path for map %s", path,
				    bpf_map__name(map));
			return false;
		}
		int err = bpf_map__set_pin_path(map, pin);
		if (err) {
			throw_errno(env, err, "loadObject %s: set pin path %s", path, pin);
			return false;
		}
	}
	return true;
}

/* loadObject(path, { mapMaxEntries?, pinMaps?, logLevel? }) -> { id, progs, maps, verifierLogs? }
 * (verifierLogs, program name -> log, only when logLevel > 0) */
static napi_value load_object(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char path[PATH_BUF], pin_buf[PATH_BUF];
	const char *pin_dir;
	uint32_t log_level = 0;
	int slot = -1;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_string(env, argc > 0 ? argv[0] : NULL, "path", path, sizeof(path)))
		return NULL;
	napi_value opts = argc > 1 ? argv[1] : NULL;
	if (!arg_opt_string(env, get_prop(env, opts, "pinMaps"), "option pinMaps", pin_buf,
			    sizeof(pin_buf), &pin_dir) ||
	    !arg_opt_u32(env, opts, "logLevel", &log_level))
		return NULL;
	for (int i = 0; i < MAX_OBJECTS; i++)
		if (!objects[i]) {
			slot = i;
			break;
		}
	if (slot < 0) {
		throw_errno(env, EMFILE, "loadObject %s: %d objects already open", path, MAX_OBJECTS);
		return NULL;
	}

	libbpf_capture_begin();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		int err = errno;
		libbpf_capture_end();
		char what[PATH_BUF + 64];
		snprintf(what, sizeof(what), "loadObject: open %s", path);
		napi_value error = make_errno_error(env, err, what);
		set_string_prop(env, error, "libbpfLog", libbpf_log);
		napi_throw(env, error);
		return NULL;
	}
	if (!apply_max_entries(env, obj, get_prop(env, opts, "mapMaxEntries"), path) ||
	    (pin_dir && !apply_pin_dir(env, obj, pin_dir, path))) {
		libbpf_capture_end();
		bpf_object__close(obj);
		return NULL;
	}

	/* One log buffer per program: on failure libbpf retries a silent load with log level 1
	 * into it, so the verifier's reasoning is kept even when logLevel is 0. */
	size_t nprogs = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
		nprogs++;
	char **logs = calloc(nprogs ? nprogs : 1, sizeof(*logs));
	size_t i = 0;
	bool oom = logs == NULL;
	bpf_object__for_each_program(prog, obj) {
		if (oom)
			break;
		logs[i] = calloc(1, VERIFIER_LOG_SIZE);
		if (!logs[i]) {
			oom = true;
			break;
		}
		bpf_program__set_log_buf(prog, logs[i], VERIFIER_LOG_SIZE);
		if (log_level)
			bpf_program__set_log_level(prog, log_level);
		i++;
	}
	int err = oom ? -ENOMEM : bpf_object__load(obj);
	libbpf_capture_end();

	if (err) {
		napi_value error;
		char what[PATH_BUF + 512];
		/* libbpf's first warning usually names the culprit (a program, an incompatible pin). */
		const char *first = libbpf_log;
		if (!strncmp(first, "libbpf: ", 8))
			first += 8;
		int first_len = (int)strcspn(first, "\n");
		snprintf(what, sizeof(what), "loadObject: load %s%s%.*s", path, first_len ? ": " : "",
			 first_len > 300 ? 300 : first_len, first);
		error = make_errno_error(env, -err, what);
		/* Concatenate the logs of programs the kernel commented on, each under its name. */
		size_t total = 1;
		for (size_t k = 0; k < i; k++)
			total += strlen(logs[k]) + NAME_BUF + 16;
		char *joined = calloc(1, total);
		if (joined) {
			size_t off = 0, k = 0;
			bpf_object__for_each_program(prog, obj) {
				if (k >= i)
					break;
				if (logs[k][0])
					off += snprintf(joined + off, total - off, "-- program %s --\n%s%s",
							bpf_program__name(prog), logs[k],
							logs[k][strlen(logs[k]) - 1] == '\n' ? "" : "\n");
				k++;
			}
			set_string_prop(env, error, "verifierLog", joined);
			free(joined);
		}
		set_string_prop(env, error, "libbpfLog", libbpf_log);
		for (size_t k = 0; k < i; k++)
			free(logs[k]);
		free(logs);
		bpf_object__close(obj);
		napi_throw(env, error);
		return NULL;
	}
	objects[slot] = obj;
	napi_value result = object_result(env, slot + 1, obj);
	/* Asked-for logs (logLevel > 0) of a successful load: instruction counts, states. */
	if (log_level) {
		napi_value verifier_logs = new_object(env);
		size_t k = 0;
		bpf_object__for_each_program(prog, obj) {
			if (k < i)
				set_string_prop(env, verifier_logs, bpf_program__name(prog), logs[k]);
			k++;
		}
		napi_set_named_property(env, result, "verifierLogs", verifier_logs);
	}
	/* Loaded programs keep no reference to the buffers. */
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_log_buf(prog, NULL, 0);
	for (size_t k = 0; k < i; k++)
		free(logs[k]);
	free(logs);
	return result;
}

/* closeObject(id): closes the object's program and map fds (pins and attachments stay). */
static napi_value close_object(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	uint32_t id;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_u32(env, argc > 0 ? argv[0] : NULL, "object id", &id))
		return NULL;
	if (id < 1 || id > MAX_OBJECTS || !objects[id - 1]) {
		throw_errno(env, EBADF, "closeObject: no open object with id %u", id);
		return NULL;
	}
	bpf_object__close(objects[id - 1]);
	objects[id - 1] = NULL;
	return undefined(env);
}

/* ---- network namespaces ------------------------------------------------------------------
 * setns() moves only the calling thread, so the JS thread enters the namespace for the
 * duration of one call and always returns, on errors too. */

struct netns_guard {
	int home_fd;
};

static bool netns_enter(napi_env env, const char *path, const char *op, struct netns_guard *g)
{
	g->home_fd = -1;
	if (!path)
		return true;
	int target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		throw_errno(env, errno, "%s: open network namespace %s", op, path);
		return false;
	}
	g->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (g->home_fd < 0) {
		int err = errno;
		close(target);
		throw_errno(env, err, "%s: open this thread's network namespace", op);
		return false;
	}
	if (setns(target, CLONE_NEWNET) != 0) {
		int err = errno;
		close(target);
		close(g->home_fd);
		g->home_fd = -1;
		throw_errno(env, err, "%s: enter network namespace %s", op, path);
		return false;
	}
	close(target);
	return true;
}

static void netns_leave(struct netns_guard *g)
{
	if (g->home_fd < 0)
		return;
	if (setns(g->home_fd, CLONE_NEWNET) != 0) {
		/* Every later socket of this process would open in the wrong namespace. */
		fprintf(stderr, "santa_native: cannot return to the original network namespace: %s\n",
			strerror(errno));
		abort();
	}
	close(g->home_fd);
	g->home_fd = -1;
}

static bool xdp_mode_flags(napi_env env, napi_value v, const char *op, uint32_t *flags)
{
	char mode[16];
	if (!arg_string(env, v, "mode", mode, sizeof(mode)))
		return false;
	if (!strcmp(mode, "native"))
		*flags = XDP_FLAGS_DRV_MODE;
	else if (!strcmp(mode, "generic"))
		*flags = XDP_FLAGS_SKB_MODE;
	else if (!strcmp(mode, "offload"))
		*flags = XDP_FLAGS_HW_MODE;
	else {
		throw_arg(env, "%s: mode must be 'native', 'generic' or 'offload', not '%s'", op, mode);
		return false;
	}
	return true;
}

static int ifindex_of(napi_env env, const char *ifname, const char *netns, const char *op)
{
	unsigned int ifindex = if_nametoindex(ifname);
	if (!ifindex)
		throw_errno(env, errno == ENXIO ? ENODEV : errno, "%s: interface %s%s%s", op, ifname,
			    netns ? " in netns " : "", netns ? netns : "");
	return (int)ifindex;
}

/* The { expectedProgFd } option: act only if that very program is the one attached, atomically
 * (XDP_FLAGS_REPLACE), so a loader never replaces or removes a program that is not its own. */
static bool expected_prog(napi_env env, napi_value opts, uint32_t *flags,
			  struct bpf_xdp_attach_opts *xopts)
{
	uint32_t fd = 0;
	napi_value v = get_prop(env, opts, "expectedProgFd");
	if (!arg_present(env, v))
		return true;
	if (!arg_u32(env, v, "option expectedProgFd", &fd) || fd > INT32_MAX) {
		if (fd > INT32_MAX)
			throw_arg(env, "option expectedProgFd is not a file descriptor");
		return false;
	}
	xopts->old_prog_fd = (int)fd;
	*flags |= XDP_FLAGS_REPLACE;
	return true;
}

/* attachXdp(progFd, ifname, mode, netnsPath?, { replace?, expectedProgFd? }): without either
 * option, an interface that already runs an XDP program in this mode fails with EBUSY instead of
 * losing it; with expectedProgFd, it fails with EEXIST unless that program is attached. */
static napi_value attach_xdp(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5] = { 0 };
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;
	int prog_fd;
	uint32_t flags;
	bool replace = false;
	LIBBPF_OPTS(bpf_xdp_attach_opts, xopts);

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "progFd", &prog_fd) ||
	    !arg_string(env, argv[1], "ifname", ifname, sizeof(ifname)) ||
	    !xdp_mode_flags(env, argv[2], "attachXdp", &flags) ||
	    !arg_opt_string(env, argv[3], "netnsPath", ns_buf, sizeof(ns_buf), &netns) ||
	    !arg_opt_bool(env, argv[4], "replace", &replace) ||
	    !expected_prog(env, argv[4], &flags, &xopts))
		return NULL;
	if (!replace && !(flags & XDP_FLAGS_REPLACE))
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;

	struct netns_guard g;
	if (!netns_enter(env, netns, "attachXdp", &g))
		return NULL;
	int ifindex = ifindex_of(env, ifname, netns, "attachXdp");
	int err = ifindex ? bpf_xdp_attach(ifindex, prog_fd, flags, &xopts) : 0;
	netns_leave(&g);
	if (!ifindex)
		return NULL;
	if (err) {
		throw_errno(env, err, "attachXdp: program fd %d on %s%s%s%s", prog_fd, ifname,
			    netns ? " in netns " : "", netns ? netns : "",
			    err == -EEXIST && (flags & XDP_FLAGS_REPLACE) ?
				    " (the attached program is not the expected one)" : "");
		return NULL;
	}
	return undefined(env);
}

/* detachXdp(ifname, mode, netnsPath?, { expectedProgFd? }) */
static napi_value detach_xdp(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4] = { 0 };
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;
	uint32_t flags;
	LIBBPF_OPTS(bpf_xdp_attach_opts, xopts);

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_string(env, argv[0], "ifname", ifname, sizeof(ifname)) ||
	    !xdp_mode_flags(env, argv[1], "detachXdp", &flags) ||
	    !arg_opt_string(env, argv[2], "netnsPath", ns_buf, sizeof(ns_buf), &netns) ||
	    !expected_prog(env, argv[3], &flags, &xopts))
		return NULL;
	struct netns_guard g;
	if (!netns_enter(env, netns, "detachXdp", &g))
		return NULL;
	int ifindex = ifindex_of(env, ifname, netns, "detachXdp");
	int err = ifindex ? bpf_xdp_detach(ifindex, flags, &xopts) : 0;
	netns_leave(&g);
	if (!ifindex)
		return NULL;
	if (err) {
		throw_errno(env, err, "detachXdp: %s%s%s%s", ifname, netns ? " in netns " : "",
			    netns ? netns : "",
			    err == -EEXIST && (flags & XDP_FLAGS_REPLACE) ?
				    " (the attached program is not the expected one)" : "");
		return NULL;
	}
	return undefined(env);
}

/* queryXdp(ifname, netnsPath?) -> { progId, mode, nativeProgId, genericProgId, offloadProgId }
 * or null when no XDP program is attached. mode is 'multi' when several modes are in use. */
static napi_value query_xdp(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2] = { 0 };
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_string(env, argv[0], "ifname", ifname, sizeof(ifname)) ||
	    !arg_opt_string(env, argv[1], "netnsPath", ns_buf, sizeof(ns_buf), &netns))
		return NULL;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct netns_guard g;
	if (!netns_enter(env, netns, "queryXdp", &g))
		return NULL;
	int ifindex = ifindex_of(env, ifname, netns, "queryXdp");
	int err = ifindex ? bpf_xdp_query(ifindex, 0, &q) : 0;
	netns_leave(&g);
	if (!ifindex)
		return NULL;
	if (err) {
		throw_errno(env, err, "queryXdp: %s", ifname);
		return NULL;
	}
	if (q.attach_mode == XDP_ATTACHED_NONE) {
		napi_value null;
		napi_get_null(env, &null);
		return null;
	}
	const char *mode = "multi";
	uint32_t id = q.prog_id;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		mode = "native";
		id = q.drv_prog_id;
		break;
	case XDP_ATTACHED_SKB:
		mode = "generic";
		id = q.skb_prog_id;
		break;
	case XDP_ATTACHED_HW:
		mode = "offload";
		id = q.hw_prog_id;
		break;
	}
	napi_value r = new_object(env);
	set_number_prop(env, r, "progId", id);
	set_string_prop(env, r, "mode", mode);
	set_number_prop(env, r, "nativeProgId", q.drv_prog_id);
	set_number_prop(env, r, "genericProgId", q.skb_prog_id);
	set_number_prop(env, r, "offloadProgId", q.hw_prog_id);
	return r;
}

/* ---- tc ingress filters -------------------------------------------------------------------
 * A direct-action BPF filter on an interface's clsact ingress hook, named by (handle,
 * priority): the caller's own slot, so filters of others are never touched. Attachments made
 * through netlink stay when the process exits, as XDP ones do. */

static bool tc_slot(napi_env env, napi_value opts, const char *op, struct bpf_tc_opts *o)
{
	uint32_t handle = 0, priority = 0;

	if (!arg_opt_u32(env, opts, "handle", &handle) || !arg_opt_u32(env, opts, "priority", &priority))
		return false;
	if (handle == 0 || priority == 0 || priority > UINT16_MAX) {
		throw_arg(env, "%s: options handle (non-zero) and priority (1..65535) are required", op);
		return false;
	}
	o->handle = handle;
	o->priority = priority;
	return true;
}

enum tc_call { TC_ATTACH, TC_DETACH, TC_QUERY };

/* Runs one tc call on ifname's ingress hook inside the namespace; returns the ifindex, or 0
 * with a JS exception pending when the namespace or the interface cannot be found. *err is the
 * call's result. Attaching creates the clsact hook first when it is missing. */
static int tc_ingress_in(napi_env env, const char *op, const char *ifname, const char *netns,
			 enum tc_call call, struct bpf_tc_opts *opts, int *err)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	struct netns_guard g;

	*err = 0;
	if (!netns_enter(env, netns, op, &g))
		return 0;
	int ifindex = ifindex_of(env, ifname, netns, op);
	if (ifindex) {
		hook.ifindex = ifindex;
		switch (call) {
		case TC_ATTACH:
			*err = bpf_tc_hook_create(&hook);
			if (*err == -EEXIST)
				*err = 0;
			if (!*err)
				*err = bpf_tc_attach(&hook, opts);
			break;
		case TC_DETACH:
			*err = bpf_tc_detach(&hook, opts);
			break;
		case TC_QUERY:
			*err = bpf_tc_query(&hook, opts);
			break;
		}
	}
	netns_leave(&g);
	return ifindex;
}

/* The (ifname, netnsPath?, { handle, priority }) arguments detach and query share. */
static bool tc_slot_args(napi_env env, napi_callback_info info, const char *op, char *ifname,
			 char *ns_buf, const char **netns, struct bpf_tc_opts *opts)
{
	size_t argc = 3;
	napi_value argv[3] = { 0 };

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	return arg_string(env, argv[0], "ifname", ifname, IF_NAMESIZE) &&
	       arg_opt_string(env, argv[1], "netnsPath", ns_buf, PATH_BUF, netns) &&
	       tc_slot(env, argv[2], op, opts);
}

/* attachTcIngress(progFd, ifname, netnsPath?, { handle, priority, replace? }): creates the
 * clsact hook when it is missing. Without replace, a filter already in the slot fails with
 * EEXIST instead of being lost. */
static napi_value attach_tc_ingress(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4] = { 0 };
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;
	int prog_fd, err;
	bool replace = false;
	LIBBPF_OPTS(bpf_tc_opts, opts);

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "progFd", &prog_fd) ||
	    !arg_string(env, argv[1], "ifname", ifname, sizeof(ifname)) ||
	    !arg_opt_string(env, argv[2], "netnsPath", ns_buf, sizeof(ns_buf), &netns) ||
	    !tc_slot(env, argv[3], "attachTcIngress", &opts) ||
	    !arg_opt_bool(env, argv[3], "replace", &replace))
		return NULL;
	opts.prog_fd = prog_fd;
	opts.flags = replace ? BPF_TC_F_REPLACE : 0;
	if (!tc_ingress_in(env, "attachTcIngress", ifname, netns, TC_ATTACH, &opts, &err))
		return NULL;
	if (err) {
		throw_errno(env, err, "attachTcIngress: program fd %d on %s%s%s (handle %#x, priority %u)%s",
			    prog_fd, ifname, netns ? " in netns " : "", netns ? netns : "", opts.handle,
			    opts.priority, err == -EEXIST ? ": the slot holds a filter already" : "");
		return NULL;
	}
	return undefined(env);
}

/* detachTcIngress(ifname, netnsPath?, { handle, priority }): removes the filter in that slot
 * (ENOENT when there is none); the clsact hook stays for whoever else uses it. */
static napi_value detach_tc_ingress(napi_env env, napi_callback_info info)
{
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;
	int err;
	LIBBPF_OPTS(bpf_tc_opts, opts);

	if (!tc_slot_args(env, info, "detachTcIngress", ifname, ns_buf, &netns, &opts) ||
	    !tc_ingress_in(env, "detachTcIngress", ifname, netns, TC_DETACH, &opts, &err))
		return NULL;
	if (err) {
		throw_errno(env, err, "detachTcIngress: %s%s%s (handle %#x, priority %u)", ifname,
			    netns ? " in netns " : "", netns ? netns : "", opts.handle, opts.priority);
		return NULL;
	}
	return undefined(env);
}

/* queryTcIngress(ifname, netnsPath?, { handle, priority }) -> the id of the program in that
 * slot, or 0 when the slot (or the whole clsact hook) is empty. */
static napi_value query_tc_ingress(napi_env env, napi_callback_info info)
{
	char ifname[IF_NAMESIZE], ns_buf[PATH_BUF];
	const char *netns;
	int err;
	LIBBPF_OPTS(bpf_tc_opts, opts);

	if (!tc_slot_args(env, info, "queryTcIngress", ifname, ns_buf, &netns, &opts) ||
	    !tc_ingress_in(env, "queryTcIngress", ifname, netns, TC_QUERY, &opts, &err))
		return NULL;
	/* ENOENT: no filter in the slot; EINVAL: no clsact qdisc on the interface at all. */
	if (err == -ENOENT || err == -EINVAL)
		return number(env, 0);
	if (err) {
		throw_errno(env, err, "queryTcIngress: %s%s%s", ifname, netns ? " in netns " : "",
			    netns ? netns : "");
		return NULL;
	}
	return number(env, opts.prog_id);
}

/* ---- pins, ids, info -------------------------------------------------------------------- */

/* pinObject(fd, path) */
static napi_value pin_object(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2] = { 0 };
	char path[PATH_BUF];
	int fd;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "fd", &fd) || !arg_string(env, argv[1], "path", path, sizeof(path)))
		return NULL;
	int err = bpf_obj_pin(fd, path);
	if (err) {
		throw_errno(env, err, "pinObject: pin fd %d at %s", fd, path);
		return NULL;
	}
	return undefined(env);
}

/* objGet(path) -> fd of the pinned map or program */
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1] = { 0 };
	char path[PATH_BUF];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_string(env, argv[0], "path", path, sizeof(path)))
		return NULL;
	int fd = bpf_obj_get(path);
	if (fd < 0) {
		throw_errno(env, fd, "objGet: open pinned object %s", path);
		return NULL;
	}
	return number(env, fd);
}

static napi_value get_fd_by_id(napi_env env, napi_callback_info info, bool prog)
{
	size_t argc = 1;
	napi_value argv[1] = { 0 };
	uint32_t id;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_u32(env, argv[0], "id", &id))
		return NULL;
	int fd = prog ? bpf_prog_get_fd_by_id(id) : bpf_map_get_fd_by_id(id);
	if (fd < 0) {
		throw_errno(env, fd, "%s: %s id %u", prog ? "progGetFdById" : "mapGetFdById",
			    prog ? "program" : "map", id);
		return NULL;
	}
	return number(env, fd);
}

static napi_value prog_get_fd_by_id(napi_env env, napi_callback_info info)
{
	return get_fd_by_id(env, info, true);
}

static napi_value map_get_fd_by_id(napi_env env, napi_callback_info info)
{
	return get_fd_by_id(env, info, false);
}

static bool one_fd_arg(napi_env env, napi_callback_info info, int *fd)
{
	size_t argc = 1;
	napi_value argv[1] = { 0 };
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		ensure_thrown(env, "N-API: napi_get_cb_info");
		return false;
	}
	return arg_fd(env, argv[0], "fd", fd);
}

/* progInfo(fd) -> { id, name, type, typeName, tag, runTimeNs, runCnt, mapIds } */
static napi_value prog_info(napi_env env, napi_callback_info info)
{
	int fd;
	if (!one_fd_arg(env, info, &fd))
		return NULL;
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
	if (err) {
		throw_errno(env, err, "progInfo: fd %d", fd);
		return NULL;
	}
	/* Map ids need a second call with room for them; everything else must be zero then. */
	uint32_t nmaps = pi.nr_map_ids;
	uint32_t *ids = calloc(nmaps ? nmaps : 1, sizeof(*ids));
	if (!ids) {
		throw_errno(env, ENOMEM, "progInfo: fd %d", fd);
		return NULL;
	}
	if (nmaps) {
		struct bpf_prog_info again;
		memset(&again, 0, sizeof(again));
		again.nr_map_ids = nmaps;
		again.map_ids = (uint64_t)(uintptr_t)ids;
		len = sizeof(again);
		err = bpf_obj_get_info_by_fd(fd, &again, &len);
		if (err) {
			free(ids);
			throw_errno(env, err, "progInfo: map ids of fd %d", fd);
			return NULL;
		}
		if (again.nr_map_ids < nmaps)
			nmaps = again.nr_map_ids;
	}
	napi_value r = new_object(env), map_ids;
	char tag[2 * BPF_TAG_SIZE + 1];
	for (int k = 0; k < BPF_TAG_SIZE; k++)
		snprintf(tag + 2 * k, 3, "%02x", pi.tag[k]);
	const char *type_name = libbpf_bpf_prog_type_str(pi.type);
	set_number_prop(env, r, "id", pi.id);
	set_string_prop(env, r, "name", pi.name);
	set_number_prop(env, r, "type", pi.type);
	set_string_prop(env, r, "typeName", type_name ? type_name : "unknown");
	set_string_prop(env, r, "tag", tag);
	/* u64 counters as doubles: exact up to 2^53 (104 days of BPF run time). */
	set_number_prop(env, r, "runTimeNs", (double)pi.run_time_ns);
	set_number_prop(env, r, "runCnt", (double)pi.run_cnt);
	napi_create_array_with_length(env, nmaps, &map_ids);
	for (uint32_t k = 0; k < nmaps; k++)
		napi_set_element(env, map_ids, k, number(env, ids[k]));
	napi_set_named_property(env, r, "mapIds", map_ids);
	free(ids);
	return r;
}

/* mapInfo(fd) -> { id, name, type, typeName, keySize, valueSize, maxEntries, flags } */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	int fd;
	struct map_meta m;
	if (!one_fd_arg(env, info, &fd) || !map_meta(env, fd, "mapInfo", &m))
		return NULL;
	napi_value r = new_object(env);
	const char *type_name = libbpf_bpf_map_type_str(m.info.type);
	set_number_prop(env, r, "id", m.info.id);
	set_string_prop(env, r, "name", m.info.name);
	set_number_prop(env, r, "type", m.info.type);
	set_string_prop(env, r, "typeName", type_name ? type_name : "unknown");
	set_number_prop(env, r, "keySize", m.info.key_size);
	set_number_prop(env, r, "valueSize", m.info.value_size);
	set_number_prop(env, r, "maxEntries", m.info.max_entries);
	set_number_prop(env, r, "flags", m.info.map_flags);
	return r;
}

/* closeFd(fd) */
static napi_value close_fd(napi_env env, napi_callback_info info)
{
	int fd;
	if (!one_fd_arg(env, info, &fd))
		return NULL;
	if (close(fd) != 0) {
		throw_errno(env, errno, "closeFd: fd %d", fd);
		return NULL;
	}
	return undefined(env);
}

/* enableStats() -> fd: run_time_ns/run_cnt are collected while this fd stays open. */
static napi_value enable_stats(napi_env env, napi_callback_info info)
{
	(void)info;
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		throw_errno(env, fd, "enableStats: BPF_ENABLE_STATS(run time)");
		return NULL;
	}
	return number(env, fd);
}

static napi_value num_possible_cpus_js(napi_env env, napi_callback_info info)
{
	(void)info;
	int n = num_possible_cpus();
	if (n <= 0) {
		throw_errno(env, n, "numPossibleCpus");
		return NULL;
	}
	return number(env, n);
}

/* ---- single elements -------------------------------------------------------------------- */

/* lookup(fd, key) -> Buffer | null. Per-CPU maps: every possible CPU's value, each padded to
 * 8 bytes, in CPU order. */
static napi_value map_lookup(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2] = { 0 };
	int fd;
	void *key, *value;
	size_t key_len;
	struct map_meta m;
	napi_value out;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "fd", &fd) || !arg_buffer(env, argv[1], "key", &key, &key_len) ||
	    !map_meta(env, fd, "lookup", &m) ||
	    !check_len(env, "lookup", &m, "key", key_len, m.info.key_size))
		return NULL;
	NAPI_OK(env, napi_create_buffer(env, m.value_len, &value, &out));
	int err = bpf_map_lookup_elem(fd, key, value);
	if (err == -ENOENT) {
		napi_get_null(env, &out);
		return out;
	}
	if (err) {
		throw_errno(env, err, "lookup on map %s (id %u)", m.info.name, m.info.id);
		return NULL;
	}
	return out;
}

/* update(fd, key, value, flags = BPF_ANY) */
static napi_value map_update(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4] = { 0 };
	int fd;
	void *key, *value;
	size_t key_len, value_len;
	uint32_t flags = BPF_ANY;
	struct map_meta m;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "fd", &fd) || !arg_buffer(env, argv[1], "key", &key, &key_len) ||
	    !arg_buffer(env, argv[2], "value", &value, &value_len) ||
	    (arg_present(env, argv[3]) && !arg_u32(env, argv[3], "flags", &flags)) ||
	    !map_meta(env, fd, "update", &m) ||
	    !check_len(env, "update", &m, "key", key_len, m.info.key_size) ||
	    !check_len(env, "update", &m, "value", value_len, m.value_len))
		return NULL;
	int err = bpf_map_update_elem(fd, key, value, flags);
	if (err) {
		throw_errno(env, err, "update on map %s (id %u)", m.info.name, m.info.id);
		return NULL;
	}
	return undefined(env);
}

/* delete(fd, key) -> true if the key was there */
static napi_value map_delete(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2] = { 0 }, out;
	int fd;
	void *key;
	size_t key_len;
	struct map_meta m;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "fd", &fd) || !arg_buffer(env, argv[1], "key", &key, &key_len) ||
	    !map_meta(env, fd, "delete", &m) ||
	    !check_len(env, "delete", &m, "key", key_len, m.info.key_size))
		return NULL;
	int err = bpf_map_delete_elem(fd, key);
	if (err && err != -ENOENT) {
		throw_errno(env, err, "delete on map %s (id %u)", m.info.name, m.info.id);
		return NULL;
	}
	napi_get_boolean(env, err == 0, &out);
	return out;
}

/* ---- batches ------------------------------------------------------------------------------ */

static bool batch_unsupported(int err)
{
	return err == -ENOTSUPP_KERNEL || err == -EOPNOTSUPP;
}

/* Parses (fd, keys, [values,] count, ...) and checks the buffers hold exactly count elements. */
static bool batch_args(napi_env env, napi_value *argv, bool with_values, const char *op, int *fd,
		       struct map_meta *m, void **keys, void **values, uint32_t *count)
{
	size_t keys_len, values_len = 0;
	if (!arg_fd(env, argv[0], "fd", fd) || !arg_buffer(env, argv[1], "keys", keys, &keys_len) ||
	    (with_values && !arg_buffer(env, argv[2], "values", values, &values_len)) ||
	    !arg_u32(env, argv[with_values ? 3 : 2], "count", count) || !map_meta(env, *fd, op, m) ||
	    !check_len(env, op, m, "keys", keys_len, (size_t)*count * m->info.key_size) ||
	    (with_values && !check_len(env, op, m, "values", values_len, (size_t)*count * m->value_len)))
		return false;
	return true;
}

static void throw_batch(napi_env env, int err, const char *op, const struct map_meta *m,
			uint32_t done, uint32_t count)
{
	char what[512];
	snprintf(what, sizeof(what), "%s on map %s (id %u), after %u of %u entries", op,
		 m->info.name, m->info.id, done, count);
	napi_value error = make_errno_error(env, -err, what);
	set_number_prop(env, error, "done", done);
	napi_throw(env, error);
}

/* updateBatch(fd, keys, values, count, flags = BPF_ANY) -> count. keys and values are the
 * elements back to back. One syscall for the whole batch; maps without batch support are
 * written one element at a time. A failure throws with `done`: the elements before it are in. */
static napi_value map_update_batch(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5] = { 0 };
	int fd;
	void *keys, *values;
	uint32_t count, flags = BPF_ANY;
	struct map_meta m;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!batch_args(env, argv, true, "updateBatch", &fd, &m, &keys, &values, &count) ||
	    (arg_present(env, argv[4]) && !arg_u32(env, argv[4], "flags", &flags)))
		return NULL;
	if (count == 0)
		return number(env, 0);
	/* The kernel's batch update takes no element flags but BPF_F_LOCK; honour NOEXIST/EXIST
	 * one element at a time rather than refuse them. */
	bool per_element = (flags & ~(uint32_t)BPF_F_LOCK) != 0;
	uint32_t done = 0;
	int err = 0;
	if (!per_element) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
		done = count;
		err = bpf_map_update_batch(fd, keys, values, &done, &opts);
		/* Errors before the kernel's loop leave count as it was: nothing was written. */
		if (err && done == count)
			done = 0;
		/* Without a batch op the kernel returns before touching anything. */
		per_element = err && batch_unsupported(err);
	}
	if (per_element) {
		for (done = 0; done < count; done++) {
			err = bpf_map_update_elem(fd, (char *)keys + (size_t)done * m.info.key_size,
						  (char *)values + (size_t)done * m.value_len, flags);
			if (err)
				break;
		}
	}
	if (err) {
		throw_batch(env, err, "updateBatch", &m, done, count);
		return NULL;
	}
	return number(env, count);
}

/* deleteBatch(fd, keys, count) -> number of keys that were present and are now gone. The
 * kernel stops a batch at the first missing key; skip it and go on with the rest. */
static napi_value map_delete_batch(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3] = { 0 };
	int fd;
	void *keys;
	uint32_t count, deleted = 0, pos = 0;
	struct map_meta m;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!batch_args(env, argv, false, "deleteBatch", &fd, &m, &keys, NULL, &count))
		return NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	bool per_key = false;
	while (pos < count) {
		const char *at = (const char *)keys + (size_t)pos * m.info.key_size;
		uint32_t n = count - pos;
		int err;
		if (!per_key) {
			err = bpf_map_delete_batch(fd, at, &n, &opts);
			if (err && batch_unsupported(err)) {
				per_key = true;
				continue;
			}
			/* Errors before the kernel's loop leave count as it was: nothing was deleted. */
			if (err && err != -ENOENT && n == count - pos)
				n = 0;
		} else {
			n = 0;
			err = bpf_map_delete_elem(fd, at);
			if (!err)
				n = 1;
		}
		deleted += n;
		pos += n;
		if (err == -ENOENT) {
			pos++; /* that key was not there */
		} else if (err) {
			throw_batch(env, err, "deleteBatch", &m, pos, count);
			return NULL;
		}
	}
	return number(env, deleted);
}

/* lookupBatch(fd) -> { keys, values, count }: the whole map in as few syscalls as the kernel
 * allows. A hash map changing meanwhile may be seen partly before, partly after a change. */
static napi_value map_lookup_batch(napi_env env, napi_callback_info info)
{
	int fd;
	struct map_meta m;
	if (!one_fd_arg(env, info, &fd) || !map_meta(env, fd, "lookupBatch", &m))
		return NULL;
	const size_t ks = m.info.key_size, vs = m.value_len;
	const uint32_t limit = m.info.max_entries;
	/* Hash maps use a 4-byte bucket cursor, arrays a key: room for either. */
	const size_t token_len = ks > 8 ? ks : 8;
	char *in_tok = calloc(1, token_len), *out_tok = calloc(1, token_len);
	char *kbuf = NULL, *vbuf = NULL;
	uint32_t total = 0, cap = 0, chunk = limit < 1024 ? limit : 1024;
	bool first = true;
	int err = in_tok && out_tok ? 0 : -ENOMEM;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	while (!err && total < limit) {
		uint32_t n = chunk < limit - total ? chunk : limit - total;
		if (total + n > cap) { /* grow as the map turns out to be full, not to max_entries */
			uint32_t want = cap ? cap : n;
			while (want < total + n)
				want *= 2;
			if (want > limit)
				want = limit;
			char *k2 = realloc(kbuf, (size_t)want * ks), *v2;
			if (k2)
				kbuf = k2;
			v2 = k2 ? realloc(vbuf, (size_t)want * vs) : NULL;
			if (v2)
				vbuf = v2;
			if (!k2 || !v2) {
				err = -ENOMEM;
				break;
			}
			cap = want;
		}
		err = bpf_map_lookup_batch(fd, first ? NULL : in_tok, out_tok, kbuf + (size_t)total * ks,
					   vbuf + (size_t)total * vs, &n, &opts);
		if (err == -ENOSPC && n == 0 && chunk < limit - total) {
			/* One hash bucket holds more elements than fit in `chunk`: ask for more. */
			chunk = chunk * 2 < limit - total ? chunk * 2 : limit - total;
			err = 0;
			continue;
		}
		if (err && err != -ENOENT)
			break;
		total += n;
		if (err == -ENOENT) { /* end of map */
			err = 0;
			break;
		}
		memcpy(in_tok, out_tok, token_len);
		first = false;
	}
	free(in_tok);
	free(out_tok);
	if (err) {
		free(kbuf);
		free(vbuf);
		throw_errno(env, err, "lookupBatch on map %s (id %u)%s", m.info.name, m.info.id,
			    batch_unsupported(err) ? ": no batch lookup for this map type" : "");
		return NULL;
	}
	napi_value r = new_object(env);
	napi_value kb = adopt_buffer(env, kbuf, (size_t)total * ks);
	napi_value vb = kb ? adopt_buffer(env, vbuf, (size_t)total * vs) : NULL;
	if (!kb && vbuf)
		free(vbuf);
	if (!kb || !vb)
		return NULL;
	napi_set_named_property(env, r, "keys", kb);
	napi_set_named_property(env, r, "values", vb);
	set_number_prop(env, r, "count", total);
	return r;
}

/* keys(fd) -> Buffer[] through BPF_MAP_GET_NEXT_KEY, bounded by max_entries so a map that
 * changes under the walk cannot keep it going. */
static napi_value map_keys(napi_env env, napi_callback_info info)
{
	int fd;
	struct map_meta m;
	napi_value arr;
	if (!one_fd_arg(env, info, &fd) || !map_meta(env, fd, "keys", &m))
		return NULL;
	NAPI_OK(env, napi_create_array(env, &arr));
	char *cur = calloc(2, m.info.key_size ? m.info.key_size : 1);
	if (!cur) {
		throw_errno(env, ENOMEM, "keys on map %s", m.info.name);
		return NULL;
	}
	char *next = cur + m.info.key_size;
	uint32_t n = 0;
	int err = 0;
	while (n < m.info.max_entries) {
		err = bpf_map_get_next_key(fd, n ? cur : NULL, next);
		if (err)
			break;
		napi_value k = new_buffer_copy(env, next, m.info.key_size);
		if (!k) {
			free(cur);
			return NULL;
		}
		napi_set_element(env, arr, n++, k);
		memcpy(cur, next, m.info.key_size);
	}
	free(cur);
	if (err && err != -ENOENT) {
		throw_errno(env, err, "keys on map %s (id %u)", m.info.name, m.info.id);
		return NULL;
	}
	return arr;
}

/* ---- test runs -------------------------------------------------------------------------- */

/* progTestRun(progFd, dataIn, { repeat = 1, dataSizeOut?, liveFrames?, netnsPath? })
 *   -> { retval, dataOut, durationNs }. durationNs is the kernel's average per repetition.
 *
 * liveFrames (BPF_F_TEST_XDP_LIVE_FRAMES) runs the program the way a driver would, on frames
 * from a page pool: XDP_TX and XDP_REDIRECT frames are transmitted (XDP_TX out of the
 * namespace's loopback, which has no XDP transmit and drops them) and XDP_PASS frames enter
 * the namespace's network stack. That is why it needs netnsPath, a namespace the caller made
 * for it. The kernel resets each frame's start and end between runs but not its bytes: a
 * program that rewrites its frame sees its own output on the page's next run. */
static napi_value prog_test_run(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3] = { 0 };
	int fd;
	void *data;
	size_t data_len;
	uint32_t repeat = 1, size_out = 0, live = 0;
	char ns_buf[PATH_BUF];
	const char *netns = NULL;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "progFd", &fd) ||
	    !arg_buffer(env, argv[1], "dataIn", &data, &data_len) ||
	    !arg_opt_u32(env, argv[2], "repeat", &repeat) ||
	    !arg_opt_u32(env, argv[2], "dataSizeOut", &size_out) ||
	    !arg_opt_u32(env, argv[2], "liveFrames", &live) ||
	    !arg_opt_string(env, get_prop(env, argv[2], "netnsPath"), "option netnsPath", ns_buf,
			    sizeof(ns_buf), &netns))
		return NULL;
	if (repeat == 0)
		repeat = 1;
	if (live) {
		struct netns_guard g;

		if (!netns) {
			throw_errno(env, EINVAL, "progTestRun (live frames): netnsPath is required (passed frames enter that namespace's stack)");
			return NULL;
		}
		LIBBPF_OPTS(bpf_test_run_opts, lopts, .data_in = data, .data_size_in = (uint32_t)data_len,
			    .repeat = (int)repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
		if (!netns_enter(env, netns, "progTestRun (live frames)", &g))
			return NULL;
		int err = bpf_prog_test_run_opts(fd, &lopts);
		netns_leave(&g);
		if (err) {
			throw_errno(env, err, "progTestRun (live frames): program fd %d with %zu bytes in", fd, data_len);
			return NULL;
		}
		napi_value r = new_object(env);
		set_number_prop(env, r, "retval", lopts.retval);
		set_number_prop(env, r, "durationNs", lopts.duration);
		return r;
	}
	if (netns) {
		throw_errno(env, EINVAL, "progTestRun: netnsPath applies to live frames only");
		return NULL;
	}
	/* An XDP frame lives in one page, so it cannot grow past 4 KiB plus what came in. */
	if (size_out == 0)
		size_out = (uint32_t)data_len + 4096;
	char *out = malloc(size_out);
	if (!out) {
		throw_errno(env, ENOMEM, "progTestRun: output buffer of %u bytes", size_out);
		return NULL;
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = (uint32_t)data_len,
		    .data_out = out, .data_size_out = size_out, .repeat = (int)repeat);
	int err = bpf_prog_test_run_opts(fd, &opts);
	if (err) {
		free(out);
		throw_errno(env, err, "progTestRun: program fd %d with %zu bytes in", fd, data_len);
		return NULL;
	}
	napi_value r = new_object(env);
	napi_value dout = new_buffer_copy(env, out, opts.data_size_out);
	free(out);
	if (!dout)
		return NULL;
	set_number_prop(env, r, "retval", opts.retval);
	napi_set_named_property(env, r, "dataOut", dout);
	set_number_prop(env, r, "durationNs", opts.duration);
	return r;
}

/* ---- the ABI of santa_abi.h ----------------------------------------------------------------
 * TypeScript never repeats a number from the header: it reads them all from here. */

#define COUNTER(n) { #n, SANTA_CNT_##n }
static const struct {
	const char *name;
	int value;
} santa_counters[] = {
	COUNTER(PACKETS),	     COUNTER(DNS_QUERIES),	   COUNTER(HITS),
	COUNTER(DRY_RUN_HITS),	     COUNTER(TX_BYTES),		   COUNTER(PASS_DISABLED),
	COUNTER(PASS_NOT_DNS),	     COUNTER(PASS_FRAGMENT),	   COUNTER(PASS_MALFORMED),
	COUNTER(PASS_UNSUPPORTED),   COUNTER(PASS_EDNS_VERSION),   COUNTER(PASS_EDNS_OPTIONS),
	COUNTER(PASS_MISS),	     COUNTER(PASS_EXPIRED),	   COUNTER(PASS_TOO_BIG),
	COUNTER(PASS_NO_ROOM),	     COUNTER(PASS_BAD_COOKIE),	   COUNTER(RRL_DROPPED),
	COUNTER(RRL_SLIPPED),	     COUNTER(RRL_WOULD_LIMIT),	   COUNTER(PASS_ZONE_CHANGED),
	COUNTER(ZONE_CHANGES),	     COUNTER(LOOPBACK_ZONE_CHANGES), COUNTER(PASS_BLACKHOLE),
};
_Static_assert(ARRAY_SIZE(santa_counters) == SANTA_COUNTER_MAX,
	       "every enum santa_counter value needs its name here");

#define SET(obj, key, val) set_number_prop(env, obj, key, (double)(val))
#define OFF(obj, type, field, key) SET(obj, key, offsetof(struct type, field))

/* Response rate limiting: config, bucket key and value, kinds (santa_abi.h, RRL section). */
static napi_value rrl_abi(napi_env env)
{
	napi_value r = new_object(env), kinds = new_object(env), config = new_object(env),
		   key = new_object(env), bucket = new_object(env), maps = new_object(env);

	SET(kinds, "RESPONSE", SANTA_RRL_RESPONSE);
	SET(kinds, "NXDOMAIN", SANTA_RRL_NXDOMAIN);
	SET(kinds, "NODATA", SANTA_RRL_NODATA);
	SET(kinds, "REFERRAL", SANTA_RRL_REFERRAL);
	SET(kinds, "ERROR", SANTA_RRL_ERROR);
	SET(kinds, "ALL", SANTA_RRL_ALL);
	SET(kinds, "COUNT", SANTA_RRL_KIND_COUNT);

	SET(config, "size", sizeof(struct santa_rrl_config));
	OFF(config, santa_rrl_config, on, "on");
	OFF(config, santa_rrl_config, log_only, "logOnly");
	OFF(config, santa_rrl_config, slip, "slip");
	OFF(config, santa_rrl_config, n_exempt_v4, "nExemptV4");
	OFF(config, santa_rrl_config, n_exempt_v6, "nExemptV6");
	OFF(config, santa_rrl_config, hz, "hz");
	OFF(config, santa_rrl_config, window, "window");
	OFF(config, santa_rrl_config, rate, "rate");
	OFF(config, santa_rrl_config, all_rate, "allRate");
	OFF(config, santa_rrl_config, v4_mask, "v4Mask");
	OFF(config, santa_rrl_config, v6_mask, "v6Mask");
	OFF(config, santa_rrl_config, exempt_v4, "exemptV4");
	OFF(config, santa_rrl_config, exempt_v6, "exemptV6");
	SET(config, "maxExempt", SANTA_RRL_MAX_EXEMPT);

	SET(key, "size", sizeof(struct santa_rrl_key));
	OFF(key, santa_rrl_key, addr, "addr");
	OFF(key, santa_rrl_key, id, "id");
	OFF(key, santa_rrl_key, kind, "kind");
	OFF(key, santa_rrl_key, family, "family");

	SET(bucket, "size", sizeof(struct santa_rrl_bucket));
	OFF(bucket, santa_rrl_bucket, balance, "balance");
	OFF(bucket, santa_rrl_bucket, ts, "ts");
	OFF(bucket, santa_rrl_bucket, slip_cnt, "slipCnt");

	set_string_prop(env, maps, "config", SANTA_MAP_RRL_CONFIG);
	set_string_prop(env, maps, "buckets", SANTA_MAP_RRL_BUCKETS);

	napi_set_named_property(env, r, "kinds", kinds);
	napi_set_named_property(env, r, "config", config);
	napi_set_named_property(env, r, "key", key);
	napi_set_named_property(env, r, "bucket", bucket);
	napi_set_named_property(env, r, "maps", maps);
	return r;
}

static napi_value abi(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value r = new_object(env), limits = new_object(env), key_flags = new_object(env),
		   key_hdr = new_object(env), key = new_object(env), entry = new_object(env),
		   index = new_object(env), value = new_object(env), clock = new_object(env),
		   settings = new_object(env), prefix = new_object(env), modes = new_object(env),
		   counters = new_object(env), stats = new_object(env), hits = new_object(env), maps = new_object(env),
		   filter = new_object(env), zone_gens = new_object(env), rrl = rrl_abi(env);
	uint64_t seen = 0;

	SET(limits, "NAME_MAX", SANTA_NAME_MAX);
	SET(limits, "REPLY_MAX", SANTA_REPLY_MAX);
	SET(limits, "TAIL_MAX", SANTA_TAIL_MAX);
	SET(limits, "MAX_PORTS", SANTA_MAX_PORTS);
	SET(limits, "MAX_ADDRS", SANTA_MAX_ADDRS);
	SET(limits, "NAME_BUF", SANTA_NAME_BUF);
	SET(limits, "ENTRIES_DEFAULT", SANTA_ENTRIES_DEFAULT);
	SET(limits, "INDEX_GROUPS_DEFAULT", SANTA_INDEX_GROUPS_DEFAULT);
	SET(limits, "REUSE_DELAY_MS", SANTA_REUSE_DELAY_MS);

	SET(key_flags, "RD", SANTA_KEY_RD);
	SET(key_flags, "EDNS", SANTA_KEY_EDNS);
	SET(key_flags, "DO", SANTA_KEY_DO);
	SET(key_flags, "V6", SANTA_KEY_V6);

	SET(key_hdr, "size", sizeof(struct santa_key_hdr));
	OFF(key_hdr, santa_key_hdr, qtype, "qtype");
	OFF(key_hdr, santa_key_hdr, qclass, "qclass");
	OFF(key_hdr, santa_key_hdr, flags, "flags");
	OFF(key_hdr, santa_key_hdr, name_len, "nameLen");
	OFF(key_hdr, santa_key_hdr, pad, "pad");

	SET(key, "size", sizeof(struct santa_key));
	OFF(key, santa_key, name, "name");

	SET(entry, "size", sizeof(struct santa_entry));
	OFF(entry, santa_entry, key, "key");
	OFF(entry, santa_entry, value, "value");

	SET(index, "ways", SANTA_INDEX_WAYS);
	SET(index, "idBits", SANTA_WAY_ID_BITS);
	SET(index, "groupSize", sizeof(struct santa_index_group));

	SET(filter, "wordsDefault", SANTA_FILTER_WORDS_DEFAULT);
	SET(filter, "wordsMax", SANTA_FILTER_WORDS_MAX);

	SET(value, "size", sizeof(struct santa_value));
	OFF(value, santa_value, expires_jiffies, "expiresJiffies");
	OFF(value, santa_value, slot, "slot");
	OFF(value, santa_value, tail_len, "tailLen");
	OFF(value, santa_value, csum_const, "csumConst");
	OFF(value, santa_value, hdr, "hdr");
	SET(value, "hdrSize", sizeof(((struct santa_value *)0)->hdr));
	OFF(value, santa_value, rrl_kind, "rrlKind");
	OFF(value, santa_value, pad, "pad");
	OFF(value, santa_value, rrl_id, "rrlId");
	OFF(value, santa_value, zone_slot, "zoneSlot");
	OFF(value, santa_value, zone_gen, "zoneGen");
	OFF(value, santa_value, tail, "tail");

	SET(settings, "size", sizeof(struct santa_settings));
	OFF(settings, santa_settings, mode, "mode");
	OFF(settings, santa_settings, index_mask, "indexMask");
	OFF(settings, santa_settings, hash_seed, "hashSeed");
	OFF(settings, santa_settings, filter_shift, "filterShift");
	OFF(settings, santa_settings, max_udp_size, "maxUdpSize");
	OFF(settings, santa_settings, n_ports, "nPorts");
	OFF(settings, santa_settings, n_v4, "nV4");
	OFF(settings, santa_settings, ports, "ports");
	OFF(settings, santa_settings, v4_addrs, "v4Addrs");
	OFF(settings, santa_settings, n_v6, "nV6");
	OFF(settings, santa_settings, v6_addrs, "v6Addrs");
	OFF(settings, santa_settings, cookie_on, "cookieOn");
	OFF(settings, santa_settings, cookie_require_server, "cookieRequireServer");
	OFF(settings, santa_settings, cookie_secret, "cookieSecret");
	SET(settings, "cookieSecretSize", sizeof(((struct santa_settings *)0)->cookie_secret));
	OFF(settings, santa_settings, clock_offset_ns, "clockOffsetNs");
	OFF(settings, santa_settings, nocookie_udp_size, "nocookieUdpSize");
	OFF(settings, santa_settings, n_blackhole_v4, "nBlackholeV4");
	OFF(settings, santa_settings, n_blackhole_v6, "nBlackholeV6");
	OFF(settings, santa_settings, blackhole_v4, "blackholeV4");
	OFF(settings, santa_settings, blackhole_v6, "blackholeV6");
	SET(settings, "maxBlackhole", SANTA_MAX_BLACKHOLE);

	SET(prefix, "size", sizeof(struct santa_prefix));
	OFF(prefix, santa_prefix, addr, "addr");
	OFF(prefix, santa_prefix, mask, "mask");
	OFF(prefix, santa_prefix, negated, "negated");

	SET(modes, "OFF", SANTA_MODE_OFF);
	SET(modes, "DRY_RUN", SANTA_MODE_DRY_RUN);
	SET(modes, "ON", SANTA_MODE_ON);

	for (size_t k = 0; k < ARRAY_SIZE(santa_counters); k++) {
		int v = santa_counters[k].value;
		if (v < 0 || v >= SANTA_COUNTER_MAX || (seen & (1ull << v))) {
			napi_throw_error(env, "ERR_SANTA_ABI", "santa_counter names and values disagree");
			return NULL;
		}
		seen |= 1ull << v;
		SET(counters, santa_counters[k].name, v);
	}
	_Static_assert(SANTA_COUNTER_MAX <= 64, "the duplicate check uses a 64-bit set");

	SET(stats, "size", sizeof(struct santa_stats));
	SET(stats, "counterCount", SANTA_COUNTER_MAX);
	SET(stats, "counterSize", sizeof(((struct santa_stats *)0)->counters[0]));
	SET(hits, "valueSize", sizeof(__u64));
	SET(clock, "size", sizeof(struct santa_clock_sample));
	OFF(clock, santa_clock_sample, jiffies, "jiffies");
	OFF(clock, santa_clock_sample, ktime_ns, "ktimeNs");
	set_string_prop(env, clock, "mapName", SANTA_MAP_CLOCK);

	set_string_prop(env, maps, "entries", SANTA_MAP_ENTRIES);
	set_string_prop(env, maps, "index", SANTA_MAP_INDEX);
	set_string_prop(env, maps, "hits", SANTA_MAP_HITS);
	set_string_prop(env, maps, "settings", SANTA_MAP_SETTINGS);
	set_string_prop(env, maps, "stats", SANTA_MAP_STATS);
	set_string_prop(env, maps, "filter", SANTA_MAP_FILTER);
	set_string_prop(env, maps, "zoneGens", SANTA_MAP_ZONE_GENS);

	SET(zone_gens, "slots", SANTA_ZONE_GENS);
	SET(zone_gens, "soaType", SANTA_DNS_TYPE_SOA);
	SET(zone_gens, "inClass", SANTA_DNS_CLASS_IN);

	napi_set_named_property(env, r, "limits", limits);
	napi_set_named_property(env, r, "keyFlags", key_flags);
	napi_set_named_property(env, r, "keyHeader", key_hdr);
	napi_set_named_property(env, r, "key", key);
	napi_set_named_property(env, r, "entry", entry);
	napi_set_named_property(env, r, "index", index);
	napi_set_named_property(env, r, "filter", filter);
	napi_set_named_property(env, r, "value", value);
	napi_set_named_property(env, r, "settings", settings);
	napi_set_named_property(env, r, "prefix", prefix);
	napi_set_named_property(env, r, "modes", modes);
	napi_set_named_property(env, r, "counters", counters);
	napi_set_named_property(env, r, "stats", stats);
	napi_set_named_property(env, r, "hits", hits);
	napi_set_named_property(env, r, "maps", maps);
	napi_set_named_property(env, r, "clock", clock);
	napi_set_named_property(env, r, "zoneGens", zone_gens);
	napi_set_named_property(env, r, "rrl", rrl);
	set_string_prop(env, r, "progName", SANTA_PROG_NAME);
	napi_value guard = new_object(env);
	set_string_prop(env, guard, "progName", SANTA_GUARD_PROG_NAME);
	SET(guard, "tcHandle", SANTA_GUARD_TC_HANDLE);
	SET(guard, "tcPriority", SANTA_GUARD_TC_PRIORITY);
	napi_set_named_property(env, r, "loopbackGuard", guard);
	return r;
}

/* ---- mapped array maps ------------------------------------------------------------------
 * The cache arrays are BPF_F_MMAPABLE: user space writes entries straight into map memory and
 * publishes them with one aligned 8-byte store (santa_abi.h, "Publication protocol"). The
 * memory never reaches JavaScript as an ArrayBuffer (unmapping it under a live view would
 * crash the process): JavaScript holds a handle, and every access is bounds-checked here. */

#define MAX_MAPPINGS 64

static struct {
	uint8_t *addr;
	size_t len;
} mappings[MAX_MAPPINGS];

static bool arg_mapping(napi_env env, napi_value v, uint32_t *handle)
{
	if (!arg_u32(env, v, "mapping handle", handle))
		return false;
	if (*handle >= MAX_MAPPINGS || !mappings[*handle].addr) {
		throw_arg(env, "mapping handle %u is not mapped", *handle);
		return false;
	}
	return true;
}

static bool arg_range(napi_env env, uint32_t handle, double offset, size_t len, const char *op)
{
	if (offset < 0 || offset != (double)(size_t)offset || (size_t)offset > mappings[handle].len ||
	    len > mappings[handle].len - (size_t)offset) {
		throw_arg(env, "%s: %zu bytes at offset %.0f are outside the %zu-byte mapping", op, len,
			  offset, mappings[handle].len);
		return false;
	}
	return true;
}

static bool arg_offset(napi_env env, napi_value v, double *out)
{
	if (!arg_is(env, v, napi_number) || napi_get_value_double(env, v, out) != napi_ok) {
		throw_arg(env, "offset must be a number");
		return false;
	}
	return true;
}

/* mapMmap(fd) -> handle: the whole value area of a BPF_F_MMAPABLE array, read-write. */
static napi_value map_mmap(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1] = { 0 };
	struct map_meta m;
	int fd;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_fd(env, argv[0], "fd", &fd) || !map_meta(env, fd, "mapMmap", &m))
		return NULL;
	if (m.info.type != BPF_MAP_TYPE_ARRAY || !(m.info.map_flags & BPF_F_MMAPABLE)) {
		throw_errno(env, EINVAL, "mapMmap: map %s (id %u) is not a BPF_F_MMAPABLE array",
			    m.info.name, m.info.id);
		return NULL;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ROUND_UP_8(m.info.value_size) * (size_t)m.info.max_entries;
	len = (len + page - 1) / page * page;
	for (uint32_t h = 0; h < MAX_MAPPINGS; h++) {
		if (mappings[h].addr)
			continue;
		void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (addr == MAP_FAILED) {
			throw_errno(env, errno, "mmap of map %s (id %u)", m.info.name, m.info.id);
			return NULL;
		}
		mappings[h].addr = addr;
		mappings[h].len = len;
		return number(env, h);
	}
	throw_errno(env, EMFILE, "mapMmap: %d mappings are open already", MAX_MAPPINGS);
	return NULL;
}

/* mapMunmap(handle) */
static napi_value map_munmap(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1] = { 0 };
	uint32_t h;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_mapping(env, argv[0], &h))
		return NULL;
	munmap(mappings[h].addr, mappings[h].len);
	mappings[h].addr = NULL;
	mappings[h].len = 0;
	return undefined(env);
}

/* mapMemRead(handle, offset, length) -> Buffer (a copy) */
static napi_value map_mem_read(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3] = { 0 };
	uint32_t h, len;
	double off;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_mapping(env, argv[0], &h) || !arg_offset(env, argv[1], &off) ||
	    !arg_u32(env, argv[2], "length", &len) || !arg_range(env, h, off, len, "mapMemRead"))
		return NULL;
	return new_buffer_copy(env, mappings[h].addr + (size_t)off, len);
}

/* mapMemReadInto and mapMemWrite: (handle, offset, buffer), the range checked to lie inside
 * the mapping, then one copy between the mapping and the buffer, in the direction asked. */
static napi_value mem_copy(napi_env env, napi_callback_info info, const char *op, const char *what,
			   bool into_mapping)
{
	size_t argc = 3, len;
	napi_value argv[3] = { 0 };
	uint32_t h;
	double off;
	void *buf, *mem;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		throw_arg(env, "%s: cannot read the arguments", op);
		return NULL;
	}
	if (!arg_mapping(env, argv[0], &h) || !arg_offset(env, argv[1], &off) ||
	    !arg_buffer(env, argv[2], what, &buf, &len) || !arg_range(env, h, off, len, op))
		return NULL;
	mem = mappings[h].addr + (size_t)off;
	if (into_mapping)
		memcpy(mem, buf, len);
	else
		memcpy(buf, mem, len);
	return undefined(env);
}

/* mapMemReadInto(handle, offset, target): fills target from the mapping, without the Buffer
 * allocation mapMemRead makes (which costs more than the copy on the install path). */
static napi_value map_mem_read_into(napi_env env, napi_callback_info info)
{
	return mem_copy(env, info, "mapMemReadInto", "target", false);
}

/* mapMemWrite(handle, offset, buffer): plain stores, for memory no program reads yet. */
static napi_value map_mem_write(napi_env env, napi_callback_info info)
{
	return mem_copy(env, info, "mapMemWrite", "data", true);
}

/* mapMemStoreU64(handle, offset, value: bigint): one aligned 8-byte release store, which a
 * program reading the word concurrently sees whole, after everything written before it. */
static napi_value map_mem_store_u64(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3] = { 0 };
	uint32_t h;
	double off;
	uint64_t value;
	bool lossless;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_mapping(env, argv[0], &h) || !arg_offset(env, argv[1], &off) ||
	    !arg_range(env, h, off, 8, "mapMemStoreU64"))
		return NULL;
	if (!arg_is(env, argv[2], napi_bigint) ||
	    napi_get_value_bigint_uint64(env, argv[2], &value, &lossless) != napi_ok || !lossless) {
		throw_arg(env, "value must be a bigint in 0..2^64-1");
		return NULL;
	}
	if ((size_t)off % 8) {
		throw_arg(env, "mapMemStoreU64: offset %.0f is not 8-byte aligned", off);
		return NULL;
	}
	__atomic_store_n((uint64_t *)(mappings[h].addr + (size_t)off), value, __ATOMIC_RELEASE);
	return undefined(env);
}

/* rcuBarrier() -> true once every XDP program run that began before the call has ended (an RCU
 * grace period: MEMBARRIER_CMD_GLOBAL waits in synchronize_rcu(), and programs run inside RCU
 * read-side sections); false where the kernel does not offer it (e.g. nohz_full), and the
 * caller must wait some other way. */
static napi_value rcu_barrier(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value out;
	long ok = syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0;
	NAPI_OK(env, napi_get_boolean(env, ok, &out));
	return out;
}

/* keyHash(seed, mask, filterShift, key) -> [tag, group1, group2, filterBit]: for the santa_hash
 * of a struct santa_key (header and name bytes; the name may stop at name_len), its index way
 * without an id (a bigint: add id + 1), its two index groups and its bit in a miss filter of
 * 2^(64 - filterShift) bits, exactly as the program computes them. */
static napi_value key_hash(napi_env env, napi_callback_info info)
{
	size_t argc = 4, len;
	napi_value argv[4] = { 0 }, out;
	uint32_t seed, mask, filter_shift;
	uint64_t acc, hash;
	void *data;
	struct santa_key key;

	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (!arg_u32(env, argv[0], "seed", &seed) || !arg_u32(env, argv[1], "mask", &mask) ||
	    !arg_u32(env, argv[2], "filterShift", &filter_shift) || !arg_buffer(env, argv[3], "key", &data, &len))
		return NULL;
	if (filter_shift < SANTA_FILTER_SHIFT_MIN || filter_shift > SANTA_FILTER_SHIFT_MAX) {
		throw_arg(env, "keyHash: filterShift %u is outside %u..%u", filter_shift, SANTA_FILTER_SHIFT_MIN,
			  SANTA_FILTER_SHIFT_MAX);
		return NULL;
	}
	memset(&key, 0, sizeof(key));
	if (len < sizeof(key.h) || len > sizeof(key)) {
		throw_arg(env, "keyHash: a key is %zu..%zu bytes, not %zu", sizeof(key.h), sizeof(key), len);
		return NULL;
	}
	memcpy(&key, data, len);
	if (key.h.name_len == 0 || sizeof(key.h) + key.h.name_len > len) {
		throw_arg(env, "keyHash: the key's name_len %u does not fit its %zu bytes", key.h.name_len, len);
		return NULL;
	}
	acc = seed;
	for (size_t i = 0; i * 8 < key.h.name_len; i++) {
		uint64_t w;
		memcpy(&w, key.name + i * 8, 8);
		acc = santa_hash_u64(acc, w);
	}
	{
		uint64_t hw;
		memcpy(&hw, &key.h, 8);
		hash = santa_hash_final(santa_hash_u64(acc, hw));
	}
	NAPI_OK(env, napi_create_array_with_length(env, 4, &out));
	{
		napi_value way;
		NAPI_OK(env, napi_create_bigint_uint64(env, SANTA_INDEX_WAY(hash, (uint64_t)-1), &way));
		napi_set_element(env, out, 0, way);
	}
	napi_set_element(env, out, 1, number(env, SANTA_INDEX_GROUP1(hash, mask)));
	napi_set_element(env, out, 2, number(env, SANTA_INDEX_GROUP2(hash, mask)));
	{
		uint64_t first;
		uint32_t type_class;

		/* The name is lower-case and zero-padded in a key, as the program reads it. */
		memcpy(&first, key.name, 8);
		memcpy(&type_class, &key.h, 4);
		napi_set_element(env, out, 3, number(env, santa_filter_bit(first, type_class, key.h.name_len, filter_shift)));
	}
	return out;
}

/* ---- module ----------------------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "loadObject", load_object },
		{ "closeObject", close_object },
		{ "attachXdp", attach_xdp },
		{ "detachXdp", detach_xdp },
		{ "queryXdp", query_xdp },
		{ "attachTcIngress", attach_tc_ingress },
		{ "detachTcIngress", detach_tc_ingress },
		{ "queryTcIngress", query_tc_ingress },
		{ "pinObject", pin_object },
		{ "objGet", obj_get },
		{ "progGetFdById", prog_get_fd_by_id },
		{ "mapGetFdById", map_get_fd_by_id },
		{ "progInfo", prog_info },
		{ "mapInfo", map_info },
		{ "closeFd", close_fd },
		{ "enableStats", enable_stats },
		{ "numPossibleCpus", num_possible_cpus_js },
		{ "lookup", map_lookup },
		{ "update", map_update },
		{ "delete", map_delete },
		{ "updateBatch", map_update_batch },
		{ "deleteBatch", map_delete_batch },
		{ "lookupBatch", map_lookup_batch },
		{ "keys", map_keys },
		{ "progTestRun", prog_test_run },
		{ "abi", abi },
		{ "mapMmap", map_mmap },
		{ "mapMunmap", map_munmap },
		{ "mapMemRead", map_mem_read },
		{ "mapMemReadInto", map_mem_read_into },
		{ "mapMemWrite", map_mem_write },
		{ "mapMemStoreU64", map_mem_store_u64 },
		{ "keyHash", key_hash },
		{ "rcuBarrier", rcu_barrier },
	};
	const char *debug = getenv("SANTA_LIBBPF_DEBUG");
	libbpf_debug = debug && *debug && strcmp(debug, "0");
	libbpf_set_print(libbpf_print);

	for (size_t k = 0; k < ARRAY_SIZE(fns); k++) {
		napi_value fn;
		NAPI_OK(env, napi_create_function(env, fns[k].name, NAPI_AUTO_LENGTH, fns[k].fn, NULL,
						  &fn));
		NAPI_OK(env, napi_set_named_property(env, exports, fns[k].name, fn));
	}
	napi_value flags = new_object(env);
	SET(flags, "ANY", BPF_ANY);
	SET(flags, "NOEXIST", BPF_NOEXIST);
	SET(flags, "EXIST", BPF_EXIST);
	napi_set_named_property(env, exports, "updateFlags", flags);
	return exports;
}

NAPI_MODULE(santa_native, init)
