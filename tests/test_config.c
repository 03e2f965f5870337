/* test_config.c - config.json / preprocessor_config.json parsing: the configs transformers
 * wrote for the fixture checkpoints (figures from expected_info.json), the real
 * all-MiniLM-L6-v2 config when installed, transformers' defaults for absent secondary
 * keys, and one-line errors naming the file and the key for every bad input. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "models/config.h"
#include "tests/check.h"

#define FIX "tests/fixtures/models/"

static int parse(const char *json, av_model_config *c) {
    av_clear_error();
    return av_config_parse(json, strlen(json), "cfg.json", c);
}

static void expect_fault(const char *json, const char *fragment) {
    av_model_config c;
    int rc = parse(json, &c);
    const char *msg = av_last_error();
    CHECK_MSG(rc == AV_ERR, "accepted: %s", json);
    CHECK_MSG(!strncmp(msg, "cfg.json: ", 10), "message does not name the file: %s", msg);
    CHECK_MSG(strstr(msg, fragment) != NULL, "'%s' lacks '%s'", msg, fragment);
    CHECK_MSG(strchr(msg, '\n') == NULL, "not one line: %s", msg);
}

static void expect_pre_fault(const char *json, const char *fragment) {
    av_model_config c;
    CHECK(parse("{\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,\"hidden_size\":8,"
                "\"intermediate_size\":8}", &c) == AV_OK);
    int rc = av_config_parse_preprocessor(json, strlen(json), "pre.json", &c);
    const char *msg = av_last_error();
    CHECK_MSG(rc == AV_ERR, "accepted: %s", json);
    CHECK_MSG(!strncmp(msg, "pre.json: ", 10) && strstr(msg, fragment), "'%s' lacks '%s'", msg, fragment);
}

/* Every fixture's sizes against the figures transformers reported for it. */
static void test_fixtures(void) {
    size_t n;
    char *text = av_read_file(FIX "expected_info.json", &n);
    cJSON *exp = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(exp != NULL);
    int models = 0;
    for (const cJSON *m = exp ? exp->child : NULL; m; m = m->next) {
        char dir[256];
        snprintf(dir, sizeof dir, FIX "%s", m->string);
        av_model_config c;
        CHECK_MSG(av_config_load(dir, &c) == AV_OK, "%s", av_last_error());
#define FIELD(key, val) CHECK_MSG(cJSON_GetObjectItem(m, key)->valuedouble == (double)(val), "%s: %s", m->string, key)
        FIELD("num_layers", c.num_layers);
        FIELD("num_heads", c.num_heads);
        FIELD("head_dim", c.head_dim);
        FIELD("hidden", c.hidden);
        FIELD("intermediate", c.intermediate);
        FIELD("vocab_size", c.vocab_size);
        FIELD("max_positions", c.max_positions);
#undef FIELD
        CHECK(!strcmp(cJSON_GetObjectItem(m, "model_type")->valuestring, c.model_type));
        models++;
    }
    CHECK(models == 6);
    cJSON_Delete(exp);

    av_model_config c;
    CHECK(av_config_load(FIX "bert-tiny", &c) == AV_OK);
    CHECK(c.type == AV_MODEL_BERT && c.act == AV_GELU_ERF && c.type_vocab_size == 2 && c.qkv_bias == 1);
    CHECK_NEAR(c.layer_norm_eps, 1e-12, 1e-18);
    CHECK(av_config_load(FIX "gpt2-tiny", &c) == AV_OK);
    /* "n_inner": null means 4 x n_embd. */
    CHECK(c.type == AV_MODEL_GPT2 && c.act == AV_GELU_TANH && c.intermediate == 4 * 32 && c.type_vocab_size == 0);
    CHECK_NEAR(c.layer_norm_eps, 1e-5, 1e-12);
    CHECK(av_config_load(FIX "vit-tiny", &c) == AV_OK);
    CHECK(c.type == AV_MODEL_VIT && c.image_size == 32 && c.patch_size == 8 && c.num_channels == 3 && c.qkv_bias == 1);
    CHECK(c.max_positions == (32 / 8) * (32 / 8) + 1 && c.vocab_size == 0);
    CHECK(c.do_resize && c.do_rescale && c.do_normalize && c.resize_h == 32 && c.resize_w == 32 && c.resample == 2);
    CHECK_NEAR(c.rescale_factor, 1.0 / 255.0, 1e-9);
    CHECK(c.image_mean[0] == 0.5f && c.image_mean[2] == 0.5f && c.image_std[1] == 0.5f);

    /* The real embedded default model, when scripts/install.sh has fetched it. */
    if (av_file_exists(".deps/models/all-MiniLM-L6-v2/config.json")) {
        CHECK(av_config_load(".deps/models/all-MiniLM-L6-v2", &c) == AV_OK);
        CHECK(c.num_layers == 6 && c.num_heads == 12 && c.head_dim == 32 && c.hidden == 384 &&
              c.intermediate == 1536 && c.vocab_size == 30522 && c.max_positions == 512);
    }

    av_clear_error();
    CHECK(av_config_load("tests/fixtures/no-such-model", &c) == AV_ERR && strstr(av_last_error(), "no-such-model: no such folder"));
    CHECK(av_config_load("tests/fixtures", &c) == AV_ERR && strstr(av_last_error(), "tests/fixtures/config.json: cannot open"));
}

static void test_variants(void) {
    av_model_config c;
    /* GPT-2 spelled with BERT names, explicit n_inner, every tanh GELU name. */
    CHECK(parse("{\"model_type\":\"gpt2\",\"n_layer\":3,\"n_head\":2,\"n_embd\":16,\"n_inner\":40,"
                "\"n_positions\":32,\"vocab_size\":50,\"activation_function\":\"gelu_pytorch_tanh\"}", &c) == AV_OK);
    CHECK(c.num_layers == 3 && c.head_dim == 8 && c.intermediate == 40 && c.act == AV_GELU_TANH);
    CHECK_NEAR(c.layer_norm_eps, 1e-5, 1e-12); /* GPT2Config default */
    CHECK(parse("{\"model_type\":\"gpt2\",\"num_hidden_layers\":1,\"num_attention_heads\":2,\"hidden_size\":16,"
                "\"max_position_embeddings\":8,\"vocab_size\":5,\"activation_function\":\"gelu_fast\"}", &c) == AV_OK);
    CHECK(c.num_layers == 1 && c.intermediate == 64 && c.max_positions == 8 && c.act == AV_GELU_TANH);
    CHECK(parse("{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":2,\"n_embd\":16,\"n_positions\":8,\"vocab_size\":5}", &c) == AV_OK);
    CHECK(c.act == AV_GELU_TANH); /* default gelu_new */
    /* BERT with only the required keys: transformers' BertConfig defaults for the rest. */
    CHECK(parse("{\"model_type\":\"bert\",\"num_hidden_layers\":1,\"num_attention_heads\":2,\"hidden_size\":16,"
                "\"intermediate_size\":32,\"max_position_embeddings\":8,\"vocab_size\":5}", &c) == AV_OK);
    CHECK(c.act == AV_GELU_ERF && c.type_vocab_size == 2 && c.qkv_bias == 1);
    CHECK_NEAR(c.layer_norm_eps, 1e-12, 1e-18);
    CHECK(parse("{\"model_type\":\"bert\",\"num_hidden_layers\":1,\"num_attention_heads\":2,\"hidden_size\":16,"
                "\"intermediate_size\":32,\"max_position_embeddings\":8,\"vocab_size\":5,\"hidden_act\":\"gelu_new\","
                "\"type_vocab_size\":0,\"layer_norm_eps\":1e-7,\"position_embedding_type\":\"absolute\"}  \n", &c) == AV_OK);
    CHECK(c.act == AV_GELU_TANH && c.type_vocab_size == 0);
    CHECK_NEAR(c.layer_norm_eps, 1e-7, 1e-12);
    /* ViT: defaults (224/16, 3 channels, qkv bias), list sizes, no qkv bias. */
    CHECK(parse("{\"model_type\":\"vit\",\"num_hidden_layers\":12,\"num_attention_heads\":12,\"hidden_size\":768,"
                "\"intermediate_size\":3072}", &c) == AV_OK);
    CHECK(c.image_size == 224 && c.patch_size == 16 && c.max_positions == 197 && c.num_channels == 3 && c.qkv_bias == 1);
    CHECK(c.resize_h == 224 && c.resize_w == 224 && c.image_std[0] == 0.5f);
    CHECK(parse("{\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,\"hidden_size\":8,"
                "\"intermediate_size\":8,\"image_size\":[224,224],\"patch_size\":32,\"qkv_bias\":false}", &c) == AV_OK);
    CHECK(c.image_size == 224 && c.patch_size == 32 && c.max_positions == 50 && c.qkv_bias == 0);

    /* preprocessor_config.json: each spelling of size, scalars for mean/std, defaults kept. */
    const char *vit = "{\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,\"hidden_size\":8,"
                      "\"intermediate_size\":8}";
    const char *pre[] = {"{\"size\":384}", "{\"size\":{\"height\":300,\"width\":200}}", "{\"size\":{\"shortest_edge\":256}}",
                         ("{\"do_resize\":false,\"resample\":3,\"do_rescale\":false,\"rescale_factor\":0.5,"
                          "\"do_normalize\":false,\"image_mean\":0.25,\"image_std\":[0.1,0.2,0.3]}"),
                         "{}"};
    int want_h[] = {384, 300, 256, 224, 224}, want_w[] = {384, 200, 256, 224, 224};
    for (int i = 0; i < 5; i++) {
        CHECK(parse(vit, &c) == AV_OK);
        CHECK_MSG(av_config_parse_preprocessor(pre[i], strlen(pre[i]), "pre.json", &c) == AV_OK, "%s", av_last_error());
        CHECK_MSG(c.resize_h == want_h[i] && c.resize_w == want_w[i], "%s -> %d x %d", pre[i], c.resize_h, c.resize_w);
    }
    CHECK(c.do_resize && c.resample == 2); /* the last one, {}, kept the defaults */
    CHECK(parse(vit, &c) == AV_OK && av_config_parse_preprocessor(pre[3], strlen(pre[3]), "pre.json", &c) == AV_OK);
    CHECK(!c.do_resize && !c.do_rescale && !c.do_normalize && c.resample == 3 && c.rescale_factor == 0.5f);
    CHECK(c.image_mean[0] == 0.25f && c.image_mean[2] == 0.25f && c.image_std[2] == 0.3f);
}

static void test_faults(void) {
    const char *base = "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"hidden_size\":32,\"intermediate_size\":64,"
                       "\"max_position_embeddings\":64,\"vocab_size\":100";
    char j[1024];
    expect_fault("", "invalid JSON");
    expect_fault("{\"model_type\":", "invalid JSON");
    expect_fault("{} {}", "bytes after the JSON value");
    expect_fault("[1]", "not a JSON object");
    expect_fault("{\"num_hidden_layers\":2}", "missing key \"model_type\"");
    expect_fault("{\"model_type\":3}", "\"model_type\" is not a string");
    expect_fault("{\"model_type\":\"roberta\"}", "unknown model_type \"roberta\"");
    expect_fault("{\"model_type\":\"x\\ny\"}", "unknown model_type \"x?y\"");
    expect_fault("{\"model_type\":\"bert\"}", "missing key \"num_hidden_layers\" (or \"n_layer\")");
    expect_fault("{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":1}", "missing key \"hidden_size\" (or \"n_embd\")");
    const char *subst[][3] = {
        {"\"num_hidden_layers\":2", "\"num_hidden_layers\":\"2\"", "\"num_hidden_layers\" is not an integer"},
        {"\"num_hidden_layers\":2", "\"num_hidden_layers\":null", "\"num_hidden_layers\" is not an integer"},
        {"\"num_hidden_layers\":2", "\"num_hidden_layers\":0", "\"num_hidden_layers\" is 0, outside 1..1024"},
        {"\"num_hidden_layers\":2", "\"num_hidden_layers\":1e30", "outside 1..1024"},
        {"\"num_attention_heads\":4", "\"num_attention_heads\":2.5", "\"num_attention_heads\" is not an integer"},
        {"\"num_attention_heads\":4", "\"num_attention_heads\":3", "hidden size 32 is not divisible by the 3 attention heads"},
        {"\"hidden_size\":32", "\"hidden_size\":-32", "\"hidden_size\" is -32, outside"},
        {"\"intermediate_size\":64", "\"intermediate_size\":null", "\"intermediate_size\" is not an integer"},
        {"\"intermediate_size\":64", "\"x\":0", "missing key \"intermediate_size\""},
        {"\"vocab_size\":100", "\"vocab_size\":[100]", "\"vocab_size\" is not an integer"},
        {"\"vocab_size\":100", "\"vocab_size\":100000000", "\"vocab_size\" is 100000000, outside"},
        {"\"max_position_embeddings\":64", "\"y\":1", "missing key \"max_position_embeddings\""},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"layer_norm_eps\":\"1e-12\"", "\"layer_norm_eps\" is not a number"},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"layer_norm_eps\":0", "\"layer_norm_eps\" is 0, outside"},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"layer_norm_eps\":1e-91", "\"layer_norm_eps\" is 1e-91, too small for a float"},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"hidden_act\":\"relu\"", "\"hidden_act\" is \"relu\""},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"hidden_act\":1", "\"hidden_act\" is not a string"},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"type_vocab_size\":true", "\"type_vocab_size\" is not an integer"},
        {"\"vocab_size\":100", "\"vocab_size\":100,\"position_embedding_type\":\"relative_key\"", "\"position_embedding_type\" is \"relative_key\""},
    };
    for (size_t i = 0; i < sizeof subst / sizeof subst[0]; i++) {
        const char *at = strstr(base, subst[i][0]);
        snprintf(j, sizeof j, "{\"model_type\":\"bert\",%.*s%s%s}", (int)(at - base), base, subst[i][1],
                 at + strlen(subst[i][0]));
        expect_fault(j, subst[i][2]);
    }
    const char *vit = "\"model_type\":\"vit\",\"num_hidden_layers\":1,\"num_attention_heads\":1,\"hidden_size\":8,"
                      "\"intermediate_size\":8";
    const char *vbad[][2] = {
        {"\"image_size\":[224,192]", "\"image_size\" is not square"},
        {"\"image_size\":[224]", "\"image_size\" is not an integer or an [h, w] pair"},
        {"\"image_size\":\"224\"", "\"image_size\" is not an integer from 1"},
        {"\"patch_size\":0", "\"patch_size\" is not an integer from 1"},
        {"\"image_size\":16,\"patch_size\":32", "\"patch_size\" 32 is larger than \"image_size\" 16"},
        {"\"num_channels\":1", "\"num_channels\" is 1"},
        {"\"qkv_bias\":1", "\"qkv_bias\" is not true or false"},
    };
    for (size_t i = 0; i < sizeof vbad / sizeof vbad[0]; i++) {
        snprintf(j, sizeof j, "{%s,%s}", vit, vbad[i][0]);
        expect_fault(j, vbad[i][1]);
    }
    expect_pre_fault("[]", "not a JSON object");
    expect_pre_fault("{\"size\":\"big\"}", "\"size\" is not an integer or an object");
    expect_pre_fault("{\"size\":{\"w\":1}}", "\"size\" has neither");
    expect_pre_fault("{\"size\":{\"height\":10}}", "missing key \"width\"");
    expect_pre_fault("{\"size\":0}", "\"size\" is 0, outside");
    expect_pre_fault("{\"do_resize\":\"yes\"}", "\"do_resize\" is not true or false");
    expect_pre_fault("{\"image_mean\":[0.5,0.5]}", "\"image_mean\" is not a number or a list of 3 numbers");
    expect_pre_fault("{\"image_std\":[0.5,0,0.5]}", "\"image_std\"[1] is 0");
    expect_pre_fault("{\"image_std\":1e-320}", "not a usable scale");
    expect_pre_fault("{\"image_std\":[0.5,\"a\",0.5]}", "\"image_std\" holds a non-number");
    expect_pre_fault("{\"rescale_factor\":-1}", "\"rescale_factor\" is -1, outside");
    expect_pre_fault("{\"resample\":9}", "\"resample\" is 9, outside 0..5");
}

/* The decoder LLMs: each config class's defaults, the two ways RoPE is written
 * (transformers 5's rope_parameters, the older rope_theta + rope_scaling with "type"),
 * sliding windows, and the faults. */
#define LLM(extra) "{\"model_type\":\"llama\",\"num_hidden_layers\":2,\"num_attention_heads\":8,\"hidden_size\":64," \
                   "\"intermediate_size\":96,\"vocab_size\":100,\"max_position_embeddings\":2048" extra "}"
static void test_llm(void) {
    av_model_config c;
    CHECK(parse(LLM(""), &c) == AV_OK);
    CHECK(c.type == AV_MODEL_LLAMA && c.num_kv_heads == 8 && c.head_dim == 8 && c.qkv_bias == 0 && !c.qk_norm);
    CHECK(c.rope.type == AV_ROPE_DEFAULT && c.rope.theta == 10000.0 && c.layer_norm_eps == 1e-6f);
    CHECK(parse(LLM(",\"num_key_value_heads\":2,\"head_dim\":32,\"attention_bias\":true,\"mlp_bias\":true,"
                    "\"rope_theta\":500000.0,\"rope_scaling\":{\"type\":\"llama3\",\"factor\":8.0,"
                    "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}"), &c) == AV_OK);
    CHECK(c.num_kv_heads == 2 && c.head_dim == 32 && c.qkv_bias && c.o_bias && c.mlp_bias);
    CHECK(c.rope.type == AV_ROPE_LLAMA3 && c.rope.theta == 500000.0 && c.rope.factor == 8.0 &&
          c.rope.original_max_positions == 8192);
    /* a null rope_scaling defers to rope_parameters, whose theta wins over the top-level one */
    CHECK(parse(LLM(",\"rope_theta\":1.0e6,\"rope_scaling\":null,\"rope_parameters\":{\"rope_type\":\"linear\","
                    "\"factor\":2.0,\"rope_theta\":20000.0}"), &c) == AV_OK);
    CHECK(c.rope.type == AV_ROPE_LINEAR && c.rope.factor == 2.0 && c.rope.theta == 20000.0);
    /* llama3 without original_max_position_embeddings: max_position_embeddings */
    CHECK(parse(LLM(",\"rope_parameters\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1,"
                    "\"high_freq_factor\":4}"), &c) == AV_OK);
    CHECK(c.rope.original_max_positions == 2048);
    /* Mistral: 8 key/value heads and a 4096-token window unless said otherwise */
    const char *mistral = "{\"model_type\":\"mistral\",\"num_hidden_layers\":2,\"num_attention_heads\":16,"
                          "\"hidden_size\":64,\"intermediate_size\":96,\"vocab_size\":100,\"max_position_embeddings\":32768}";
    CHECK(parse(mistral, &c) == AV_OK);
    CHECK(c.num_kv_heads == 8 && c.max_positions == 4096 && c.qkv_bias == 0);
    /* Qwen2: q/k/v biases always; a window only with use_sliding_window. Qwen3: head_dim
     * 128 by default, q/k norms */
    CHECK(parse("{\"model_type\":\"qwen2\",\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                "\"hidden_size\":64,\"intermediate_size\":96,\"vocab_size\":100,\"max_position_embeddings\":32768,"
                "\"sliding_window\":1024}", &c) == AV_OK);
    CHECK(c.qkv_bias && !c.o_bias && c.max_positions == 32768);
    CHECK(parse("{\"model_type\":\"qwen3\",\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                "\"hidden_size\":64,\"intermediate_size\":96,\"vocab_size\":100,\"max_position_embeddings\":32768,"
                "\"use_sliding_window\":true,\"sliding_window\":1024}", &c) == AV_OK);
    CHECK(c.qk_norm && c.head_dim == 128 && !c.qkv_bias && c.max_positions == 1024);
    expect_fault(LLM(",\"num_key_value_heads\":3"), "8 attention heads do not divide into 3 key/value heads");
    expect_fault(LLM(",\"hidden_act\":\"relu\""), "\"hidden_act\" is \"relu\"");
    expect_fault(LLM(",\"head_dim\":7"), "head_dim 7 is odd");
    expect_fault(LLM(",\"rope_scaling\":{\"rope_type\":\"longrope\"}"), "rope_type \"longrope\" is not supported");
    expect_fault(LLM(",\"rope_scaling\":{\"rope_type\":\"linear\"}"), "of type linear has no \"factor\"");
    expect_fault(LLM(",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}"), "no \"low_freq_factor\"");
    expect_fault(LLM(",\"rope_scaling\":[1]"), "\"rope_scaling\" is not an object");
    expect_fault(LLM(",\"rope_theta\":\"big\""), "\"rope_theta\" is not a number");
    expect_fault(LLM(",\"partial_rotary_factor\":0.5"), "\"partial_rotary_factor\" is 0.5");
    expect_fault(LLM(",\"rope_parameters\":{\"partial_rotary_factor\":0.25}"), "\"partial_rotary_factor\" is 0.25");
}

/* RoPE's frequencies: linear divides them all by the factor, dynamic leaves them (items
 * never pass max_position_embeddings), llama3 keeps the fast ones and divides the slow. */
static void test_rope_freq(void) {
    float def[64], lin[64], dyn[64], l3[64];
    av_rope_params p = {AV_ROPE_DEFAULT, 10000.0, 1.0, 0, 0, 0};
    av_rope_inv_freq(&p, 128, def);
    CHECK(def[0] == 1.0f && fabsf(def[32] - 0.01f) < 1e-6f);
    p.type = AV_ROPE_LINEAR;
    p.factor = 4.0;
    av_rope_inv_freq(&p, 128, lin);
    p.type = AV_ROPE_DYNAMIC;
    av_rope_inv_freq(&p, 128, dyn);
    for (int i = 0; i < 64; i++) CHECK(lin[i] == def[i] / 4.0f && dyn[i] == def[i]);
    av_rope_params l = {AV_ROPE_LLAMA3, 500000.0, 8.0, 1.0, 4.0, 8192.0};
    av_rope_inv_freq(&l, 128, l3);
    p = l;
    p.type = AV_ROPE_DEFAULT;
    av_rope_inv_freq(&p, 128, def);
    for (int i = 0; i < 64; i++) {
        double wl = 2 * M_PI / def[i];
        if (wl < 8192.0 / 4.0) CHECK(l3[i] == def[i]);
        else if (wl > 8192.0) CHECK(l3[i] == def[i] / 8.0f);
        else CHECK(l3[i] < def[i] && l3[i] > def[i] / 8.0f);
    }
}

int main(void) {
    test_fixtures();
    test_variants();
    test_faults();
    test_llm();
    test_rope_freq();
    return av_check_summary("test_config");
}
