/* shim_layer.c: loading and checking a socket layer. */
#include "client_shim/shim_layer.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Rejects a vtable from another contract version or with missing entries. */
int shim_layer_check(const sl_vtable_t *vt, char *msg, size_t msg_size)
{
	if (!vt) {
		snprintf(msg, msg_size, "%s() returned NULL", SL_ENTRY_SYMBOL);
		return -1;
	}
	if (vt->abi_version != SL_ABI_VERSION) {
		snprintf(msg, msg_size,
			 "layer implements contract version %u but this shim speaks version %u; "
			 "rebuild the layer against client_shim/include/sl_layer.h",
			 vt->abi_version, SL_ABI_VERSION);
		return -1;
	}
	if (vt->size < sizeof(sl_vtable_t)) {
		snprintf(msg, msg_size, "layer vtable is %u bytes, expected %zu", vt->size,
			 sizeof(sl_vtable_t));
		return -1;
	}
	if (!vt->create || !vt->connect || !vt->send || !vt->receive || !vt->close ||
	    !vt->cleanup || !vt->get_system_socket || !vt->get_option || !vt->set_option) {
		snprintf(msg, msg_size, "layer '%s' leaves a vtable entry NULL",
			 vt->name ? vt->name : "?");
		return -1;
	}
	return 0;
}

/* dlopen + dlsym(SL_ENTRY_SYMBOL) + check. */
const sl_vtable_t *shim_layer_load(const char *path, void **handle, char *msg, size_t msg_size)
{
	const sl_vtable_t *vt;
	sl_entry_fn entry;

	*handle = NULL;
	if (!path)
		vt = sl_layer_entry();
	else {
		*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!*handle) {
			snprintf(msg, msg_size, "cannot load layer: %s", dlerror());
			return NULL;
		}
		*(void **)&entry = dlsym(*handle, SL_ENTRY_SYMBOL);
		if (!entry) {
			snprintf(msg, msg_size, "layer %s does not export %s(): %s", path,
				 SL_ENTRY_SYMBOL, dlerror());
			goto err;
		}
		vt = entry();
	}
	if (shim_layer_check(vt, msg, msg_size) == 0)
		return vt;
err:
	if (*handle)
		dlclose(*handle);
	*handle = NULL;
	return NULL;
}

/* Names of the SL_LACKS_* bits, comma-separated. */
const char *shim_layer_lacks_text(uint32_t lacks, char *buf, size_t size)
{
	static const char *const names[] = {
	    "cid",   "context_resumption", "session_resumption", "dane", "tls", "certificates",
	    "keylog"};
	size_t used = 0, i;

	buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (lacks & (1u << i))
			used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s%s",
						 used ? "," : "", names[i]);
	return buf;
}
