// cxx.cc - a plugin written in C++ and built with the C++ compiler
// (C++20: designated initializers in declaration order).  JH_PLUGIN_DESC
// must export `jobhost_plugin` unmangled with external linkage, or the
// host refuses it.  Its handler uses the standard library (std::string,
// an exception caught inside) and logs cxx.ok (t/e2e/cxx_plugin.sh).
#include <jobhost.h>

#include <new>
#include <stdexcept>
#include <string>

namespace {

struct state {
    std::string greeting;
    unsigned long runs = 0;
};

int c_init(jh_ctx *ctx, void **out)
{
    const char *g = jh_config(ctx, "greeting");
    state *s = new (std::nothrow) state;

    if (s == nullptr)
        return -ENOMEM;
    s->greeting = g != nullptr ? g : "";
    *out = s;
    return 0;
}

void c_fini(jh_ctx *, void *st)
{
    delete static_cast<state *>(st);
}

int c_tick(jh_ctx *ctx)
{
    state *s = static_cast<state *>(jh_state(ctx));
    std::string caught;

    try {
        throw std::runtime_error("thrown and caught");
    } catch (const std::exception &e) {
        caught = e.what();
    }
    s->runs++;
    jh_log(ctx, JH_LOG_INFO, "cxx.ok", "runs=%lu greeting=%s caught=\"%s\"", s->runs,
           s->greeting.c_str(), caught.c_str());
    return 0;
}

const jh_handler handlers[] = {{"tick", c_tick, "100ms", nullptr, nullptr}};
const jh_config_key keys[] = {{"greeting", "hello", "logged by tick", 0}};

} // namespace

JH_PLUGIN_DESC(.name = "cxx", .version = "1.0", .init = c_init, .fini = c_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys),
               .requires_ = JH_SVC_EVENTS);
