/*
** weights.c -- a model's parameters and buffers as a safetensors file,
** keyed by their hierarchical names, F32, shapes as in the model (PyTorch's
** OIHW layout), so the files interoperate with PyTorch and the HF tools.
**
** Metadata written: format=lunac, model, spec_hash, compiler. On load the
** shapes decide: every param and buffer must be present with dtype F32 and
** exactly the model's shape, and the file may hold nothing else but
** optimizer state ("opt.*", from a training checkpoint), which inference
** ignores. Optimizer state is never written here (checkpoint.c). A model
** name or spec_hash that differs from the model's is only a warning, given
** before any tensor is checked so that it comes first when one does not fit
** (the same weights fit a model recompiled with other flags, or a spec edited
** in ways that kept every shape); a file without lunac metadata (from
** PyTorch, say) loads silently.
*/
#include <stdlib.h>
#include <string.h>

#include "rt.h"

int rt_weights_save(const RtModel *m, const char *arena, const char *path, RtErr *e)
{
	StOut *t = calloc(m->nparams + 1, sizeof *t);
	if (!t)
		return rt_errorf(e, "out of memory");
	int nt = 0;
	for (int i = 0; i < m->nparams; i++) {
		const RtTensor *p = &m->params[i];
		if (p->kind != RT_STATE)
			t[nt++] = (StOut){p->name, ST_F32, p->ndim, p->shape,
			                  rt_tensor_addr(m, p, (char *)arena, 0)};
	}
	const char *meta[] = {"format", "lunac", "model", m->name, "spec_hash", m->spec_hash,
	                      "compiler", m->compiler};
	int rc = st_write(path, meta, 4, t, nt, e);
	free(t);
	return rc;
}

int rt_weights_check_tensor(const StFile *f, int i, const RtTensor *p, RtErr *e)
{
	const StTensor *t = &f->t[i];
	char have[RT_SHAPE_STRLEN], want[RT_SHAPE_STRLEN];
	rt_shape_str(want, sizeof want, p->ndim, p->shape);
	if (t->dtype != ST_F32)
		return rt_errorf(e, "%s: tensor \"%s\" has dtype %s, the model expects F32%s",
		                 f->path, p->name, st_dtype_name(t->dtype),
		                 t->dtype == ST_F16 || t->dtype == ST_BF16 || t->dtype == ST_F64
		                     ? " (convert it with tensor.float() before saving)" : "");
	int same = t->ndim == p->ndim;
	for (int d = 0; same && d < p->ndim; d++)
		same = t->shape[d] == p->shape[d];
	if (!same)
		return rt_errorf(e, "%s: tensor \"%s\" has shape %s, the model expects %s", f->path,
		                 p->name, rt_shape_str(have, sizeof have, t->ndim, t->shape), want);
	return 0;
}

/* Every param and buffer present and well-formed; nothing else but "opt.*". */
static int check_all(const RtModel *m, const StFile *f, RtErr *e)
{
	int nw = 0;
	for (int i = 0; i < m->nparams; i++)
		nw += m->params[i].kind != RT_STATE;
	for (int i = 0, at = 0; i < m->nparams; i++) {
		if (m->params[i].kind == RT_STATE)
			continue;
		int k = st_find(f, m->params[i].name);
		at++;
		if (k < 0)
			return rt_errorf(e, "%s: tensor \"%s\" is missing (the model's %s %d of %d)", f->path,
			                 m->params[i].name, m->params[i].kind == RT_BUFFER ? "buffer" : "parameter",
			                 at, nw);
		if (rt_weights_check_tensor(f, k, &m->params[i], e))
			return -1;
	}
	for (int k = 0; k < f->nt; k++) {
		int i = rt_model_param(m, f->t[k].name);
		if ((i < 0 || m->params[i].kind == RT_STATE) && strncmp(f->t[k].name, "opt.", 4))
			return rt_errorf(e, "%s: tensor \"%s\" is not a parameter or buffer of model \"%s\"",
			                 f->path, f->t[k].name, m->name);
	}
	return 0;
}

void rt_weights_origin(const RtModel *m, const StFile *f, RtErr *warn)
{
	const char *h = st_meta(f, "spec_hash"), *name = st_meta(f, "model");
	if ((!h || !strcmp(h, m->spec_hash)) && (!name || !strcmp(name, m->name)))
		return;
	rt_errorf(warn, "%s was made for model \"%s\" (spec hash %s), but this executable is model "
	          "\"%s\" (spec hash %s); its weights are used only if every tensor has this "
	          "model's name and shape", f->path, name ? name : "?", h ? h : "none", m->name,
	          m->spec_hash);
}

int rt_weights_load(const RtModel *m, char *arena, const char *path, RtErr *e, RtErr *warn)
{
	StFile f;
	if (st_open(&f, path, e))
		return -1;
	rt_weights_origin(m, &f, warn);   /* first: it names the likely cause of what follows */
	int rc = check_all(m, &f, e);
	for (int i = 0; !rc && i < m->nparams; i++)
		if (m->params[i].kind != RT_STATE)
			rc = st_read(&f, st_find(&f, m->params[i].name),
			             rt_tensor_addr(m, &m->params[i], arena, 0), e);
	st_close(&f);
	return rc;
}
