/* Object models (server/emu_model.c, emu_model_oma.c, emu_ddf.c) and the
 * TLV decoding typed by them (emu_tlv.c): built-in lookups, DDF files from
 * tests/models/ (3303 Temperature, 33000 Test Probe), the Wakaama float
 * c1f00000 as -30.0, guesses without a model, DDF errors naming file, line
 * and element; then end to end: the real emulator with --models answers a
 * control Read whose TLV answer shows in the response_received event typed
 * and named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/emu_ddf.h"
#include "server/emu_model.h"
#include "server/emu_tlv.h"
#include "test_emu_dtls.h"
#include "test_coap_plain.h"

#define MODELS_DIR "tests/models"

/* Fails the test with err unless p is non-NULL. */
#define CHECK(p, err)                                                                              \
	do {                                                                                       \
		if (!(p))                                                                          \
			fail_msg("%s", err);                                                       \
	} while (0)

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

static void builtin_lookup(void **state)
{
	(void)state;
	const struct emu_obj_model *dev = emu_model_object(NULL, 3);
	assert_non_null(dev);
	assert_string_equal(dev->name, "Device");
	const struct emu_res_model *t = emu_model_resource(dev, 13);
	assert_string_equal(t->name, "Current Time");
	assert_int_equal(t->type, EMU_RT_TIME);
	assert_int_equal(t->ops, EMU_OP_R | EMU_OP_W);
	assert_int_equal(emu_model_resource(dev, 6)->multiple, 1);
	assert_int_equal(emu_model_resource(dev, 4)->type, EMU_RT_NONE);
	assert_int_equal(emu_model_resource(emu_model_object(NULL, 6), 0)->type, EMU_RT_FLOAT);
	assert_int_equal(emu_model_resource(emu_model_object(NULL, 1), 7)->type, EMU_RT_STRING);
	assert_int_equal(emu_model_resource(emu_model_object(NULL, 5), 0)->type, EMU_RT_OPAQUE);
	assert_null(emu_model_resource(dev, 99));
	assert_null(emu_model_object(NULL, 3303));
	assert_null(emu_model_object(NULL, 8));
	/* Every built-in table sorted by id (the lookup is a binary search). */
	for (uint32_t o = 0; o <= 7; o++) {
		const struct emu_obj_model *m = emu_model_object(NULL, o);
		assert_int_equal(m->id, o);
		for (size_t i = 1; i < m->res_count; i++)
			assert_true(m->res[i - 1].id < m->res[i].id);
		for (size_t i = 0; i < m->res_count; i++)
			assert_ptr_equal(emu_model_resource(m, m->res[i].id), &m->res[i]);
	}
	assert_int_equal(emu_model_type_parse("Unsigned Integer"), EMU_RT_UNSIGNED);
	assert_int_equal(emu_model_type_parse(""), EMU_RT_NONE);
	assert_int_equal(emu_model_type_parse("float"), -1);
	assert_int_equal(emu_model_ops_parse("RW"), EMU_OP_R | EMU_OP_W);
	assert_int_equal(emu_model_ops_parse("WR"), -1);
	assert_string_equal(emu_model_type_name(EMU_RT_OBJLNK), "objlnk");
}

static void ddf_dir_loaded(void **state)
{
	char err[512] = "";
	(void)state;
	struct emu_models *m = emu_models_load_dir(MODELS_DIR, err, sizeof(err));
	CHECK(m, err);
	assert_int_equal(emu_models_count(m), 2);
	const struct emu_obj_model *probe = emu_model_object(m, 33000);
	assert_non_null(probe);
	assert_string_equal(probe->name, "Test Probe");
	assert_int_equal(probe->multiple, 1);
	assert_int_equal(probe->res_count, 4);
	assert_int_equal(probe->res[0].id, 0); /* sorted although 1 comes first in the file */
	assert_int_equal(probe->res[0].type, EMU_RT_FLOAT);
	assert_string_equal(emu_model_resource(probe, 1)->name, "Label");
	assert_int_equal(emu_model_resource(probe, 2)->type, EMU_RT_UNSIGNED);
	assert_int_equal(emu_model_resource(probe, 3)->ops, EMU_OP_E);
	assert_non_null(strstr(probe->source, "33000-test-probe.xml"));
	assert_int_equal(emu_model_resource(emu_model_object(m, 3303), 5700)->type, EMU_RT_FLOAT);
	assert_string_equal(emu_model_object(m, 3)->name, "Device"); /* built-ins still there */
	emu_models_free(m);
}

/* The Wakaama test client's temperature: TLV resource 5700 (16-bit id),
 * 4 bytes c1f00000. */
static const uint8_t wakaama_temp[] = {0xe4, 0x16, 0x44, 0xc1, 0xf0, 0x00, 0x00};

static void tlv_float_with_ddf(void **state)
{
	char err[512] = "";
	(void)state;
	struct emu_models *m = emu_models_load_dir(MODELS_DIR, err, sizeof(err));
	CHECK(m, err);
	json_t *t = emu_tlv_decode_model(wakaama_temp, sizeof(wakaama_temp), m, "/3303/0/5700", err,
					 sizeof(err));
	CHECK(t, err);
	json_t *r = json_array_get(t, 0);
	assert_string_equal(str(r, "path"), "/3303/0/5700");
	assert_string_equal(str(r, "name"), "Sensor Value");
	assert_string_equal(str(r, "type"), "float");
	assert_true(json_is_real(json_object_get(r, "value")));
	assert_true(json_real_value(json_object_get(r, "value")) == -30.0);
	assert_null(json_object_get(r, "int"));	    /* the misleading reading is gone */
	assert_null(json_object_get(r, "guesses")); /* typed: no guessing */
	assert_string_equal(str(r, "value_hex"), "c1f00000");
	json_decref(t);
	/* The same answer to a Read of the instance: paths from the levels. */
	static const uint8_t inst[] = {0x08, 0x00, 0x07, 0xe4, 0x16, 0x44, 0xc1, 0xf0, 0x00, 0x00};
	t = emu_tlv_decode_model(inst, sizeof(inst), m, "/3303", err, sizeof(err));
	CHECK(t, err);
	r = json_array_get(json_object_get(json_array_get(t, 0), "children"), 0);
	assert_string_equal(str(json_array_get(t, 0), "name"), "Temperature");
	assert_string_equal(str(r, "path"), "/3303/0/5700");
	assert_true(json_real_value(json_object_get(r, "value")) == -30.0);
	json_decref(t);
	emu_models_free(m);
}

static void tlv_guesses_without_model(void **state)
{
	char err[256] = "";
	(void)state;
	/* No DDF for 3303: every reading offered, marked as guesses, and the
	 * old "int" kept for existing consumers. */
	json_t *t = emu_tlv_decode_model(wakaama_temp, sizeof(wakaama_temp), NULL, "/3303/0/5700",
					 err, sizeof(err));
	CHECK(t, err);
	json_t *r = json_array_get(t, 0);
	json_t *g = json_object_get(r, "guesses");
	assert_non_null(g);
	assert_null(json_object_get(r, "type"));
	assert_null(json_object_get(r, "name"));
	assert_true(json_real_value(json_object_get(g, "float")) == -30.0);
	assert_int_equal(json_integer_value(json_object_get(g, "int")), -1041235968);
	assert_int_equal(json_integer_value(json_object_get(r, "int")), -1041235968);
	assert_string_equal(str(g, "uint"), "(none)"); /* a JSON integer, not text */
	assert_int_equal(json_integer_value(json_object_get(g, "uint")), 3253731328LL);
	assert_string_equal(str(g, "objlnk"), "49648:0");
	json_decref(t);
	/* One printable byte 0x31: int 49, text "1", no bool (not 0 or 1). */
	static const uint8_t one[] = {0xc1, 0x00, 0x31};
	t = emu_tlv_decode(one, sizeof(one), err, sizeof(err));
	g = json_object_get(json_array_get(t, 0), "guesses");
	assert_string_equal(str(g, "text"), "1");
	assert_int_equal(json_integer_value(json_object_get(g, "int")), 49);
	assert_null(json_object_get(g, "bool"));
	assert_null(json_object_get(g, "float"));
	json_decref(t);
}

static void tlv_builtin_location_and_device(void **state)
{
	char err[256] = "";
	(void)state;
	/* /6/0: latitude 48.5 (8-byte double), longitude -1.25 (4-byte
	 * float), timestamp 1700000000. */
	static const uint8_t loc[] = {0xc8, 0x00, 0x08, 0x40, 0x48, 0x40, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0xc4, 0x01, 0xbf, 0xa0, 0x00,
				      0x00, 0xc4, 0x05, 0x65, 0x53, 0xf1, 0x00};
	json_t *t = emu_tlv_decode_model(loc, sizeof(loc), NULL, "/6/0", err, sizeof(err));
	CHECK(t, err);
	json_t *lat = json_array_get(t, 0), *lon = json_array_get(t, 1), *ts = json_array_get(t, 2);
	assert_string_equal(str(lat, "path"), "/6/0/0");
	assert_string_equal(str(lat, "name"), "Latitude");
	assert_true(json_real_value(json_object_get(lat, "value")) == 48.5);
	assert_true(json_real_value(json_object_get(lon, "value")) == -1.25);
	assert_string_equal(str(ts, "type"), "time");
	assert_int_equal(json_integer_value(json_object_get(ts, "value")), 1700000000);
	assert_string_equal(str(ts, "utc"), "2023-11-14T22:13:20Z");
	json_decref(t);
	/* /3/0: Manufacturer (string: "text" kept), Power Source Voltage
	 * {0: 3800} as a multiple resource, Reboot. */
	static const uint8_t dev[] = {0xc3, 0x00, 'A',	'C',  'M',  0x84, 0x07,
				      0x42, 0x00, 0x0e, 0xd8, 0xc0, 0x04};
	t = emu_tlv_decode_model(dev, sizeof(dev), NULL, "/3/0", err, sizeof(err));
	CHECK(t, err);
	assert_string_equal(str(json_array_get(t, 0), "value"), "ACM");
	assert_string_equal(str(json_array_get(t, 0), "text"), "ACM");
	json_t *mr = json_array_get(t, 1);
	assert_string_equal(str(mr, "name"), "Power Source Voltage");
	json_t *ri = json_array_get(json_object_get(mr, "children"), 0);
	assert_string_equal(str(ri, "path"), "/3/0/7/0");
	assert_string_equal(str(ri, "type"), "integer");
	assert_int_equal(json_integer_value(json_object_get(ri, "value")), 3800);
	assert_true(json_is_null(json_object_get(json_array_get(t, 2), "value")));
	json_decref(t);
}

static void tlv_mismatch_noted(void **state)
{
	char err[256] = "";
	(void)state;
	/* Latitude in 3 bytes, Bootstrap-Server (boolean) as 2: noted, the
	 * guesses shown, not an error. */
	static const uint8_t lat3[] = {0xc3, 0x00, 0x01, 0x02, 0x03};
	json_t *t = emu_tlv_decode_model(lat3, sizeof(lat3), NULL, "/6/0/0", err, sizeof(err));
	CHECK(t, err);
	json_t *r = json_array_get(t, 0);
	assert_string_equal(str(r, "type"), "float");
	assert_non_null(strstr(str(r, "type_mismatch"), "a float is 4 or 8 bytes, got 3"));
	assert_non_null(json_object_get(r, "guesses"));
	assert_null(json_object_get(r, "value"));
	json_decref(t);
	/* A resource the model lacks. */
	static const uint8_t r99[] = {0xc1, 0x63, 0x05};
	t = emu_tlv_decode_model(r99, sizeof(r99), NULL, "/3/0", err, sizeof(err));
	r = json_array_get(t, 0);
	assert_non_null(strstr(str(r, "model"), "has no resource 99"));
	assert_non_null(json_object_get(r, "guesses"));
	json_decref(t);
}

static void senml_checked(void **state)
{
	char err[512] = "";
	(void)state;
	struct emu_models *m = emu_models_load_dir(MODELS_DIR, err, sizeof(err));
	CHECK(m, err);
	json_t *recs = json_loads("[{\"name\":\"/3303/0/5700\",\"value\":-30.0},"
				  "{\"name\":\"/3303/0/5701\",\"value\":12},"
				  "{\"name\":\"/3/0/13\",\"value\":1.7e9},"
				  "{\"name\":\"/3/0/9\",\"value\":5.5},"
				  "{\"name\":\"/3/0/22/0\",\"value\":\"3:1\"},"
				  "{\"name\":\"/3/0/22/1\",\"value\":\"3\"},"
				  "{\"name\":\"/9999/0/1\",\"value\":1}]",
				  0, NULL);
	emu_model_check_records(recs, m);
	json_t *r0 = json_array_get(recs, 0), *r1 = json_array_get(recs, 1);
	assert_string_equal(str(r0, "resource"), "Sensor Value");
	assert_string_equal(str(r0, "type"), "float");
	assert_null(json_object_get(r0, "type_mismatch"));
	assert_string_equal(str(r1, "type_mismatch"),
			    "the model says string, the device sent an integer");
	assert_null(json_object_get(json_array_get(recs, 2), "type_mismatch")); /* 1.7e9 whole */
	assert_non_null(json_object_get(json_array_get(recs, 3), "type_mismatch"));
	assert_string_equal(str(json_array_get(recs, 4), "resource"), "ExtDevInfo");
	assert_null(json_object_get(json_array_get(recs, 4), "type_mismatch"));
	assert_non_null(json_object_get(json_array_get(recs, 5), "type_mismatch"));
	assert_null(json_object_get(json_array_get(recs, 6), "resource"));
	json_decref(recs);
	emu_models_free(m);
}

/* Parses a DDF text and returns the error (the model must be refused). */
static const char *ddf_error(const char *xml, char *err, size_t size)
{
	struct emu_obj_model *o = emu_ddf_parse("t.xml", xml, strlen(xml), err, size);
	if (o)
		fail_msg("accepted: %s", xml);
	return err;
}

#define ITEM(id, type)                                                                             \
	"<Item ID=\"" id "\"><Name>r</Name><Operations>R</Operations>"                             \
	"<MultipleInstances>Single</MultipleInstances><Type>" type "</Type></Item>"
#define OBJ(head, items)                                                                           \
	"<LWM2M>\n<Object>" head "<Resources>\n" items "</Resources></Object></LWM2M>"
#define HEAD "<Name>o</Name><ObjectID>40000</ObjectID><MultipleInstances>Single</MultipleInstances>"

static void ddf_errors(void **state)
{
	char err[512];
	(void)state;
	assert_string_equal(ddf_error(OBJ(HEAD, ITEM("1", "Flot")), err, sizeof(err)),
			    "t.xml:3: <Type>: expected String, Integer, Unsigned Integer, Float, "
			    "Boolean, Opaque, Time, Objlnk, Corelnk or empty");
	assert_string_equal(
	    ddf_error(OBJ("<ObjectID>1</ObjectID>", ITEM("1", "Float")), err, sizeof(err)),
	    "t.xml:2: <Object>: missing its required <Name> element");
	assert_non_null(
	    strstr(ddf_error(OBJ(HEAD, ITEM("1", "Float") ITEM("1", "String")), err, sizeof(err)),
		   "<Resources>: resource id 1 appears twice"));
	assert_non_null(strstr(ddf_error(OBJ(HEAD, ITEM("x", "Float")), err, sizeof(err)),
			       "<Item>: needs an ID attribute"));
	assert_non_null(
	    strstr(ddf_error(OBJ("<Name>o</Name><ObjectID>70000</ObjectID>", ""), err, sizeof(err)),
		   "<ObjectID>: expected an object id 0..65535"));
	assert_string_equal(ddf_error("<LWM2M>\n<Object>", err, sizeof(err)),
			    "t.xml:2: XML: Premature end of data in tag Object line 2");
	assert_non_null(strstr(ddf_error("<Other/>", err, sizeof(err)),
			       "<Other>: the root element of a DDF must be <LWM2M>"));
	assert_non_null(strstr(
	    ddf_error("<!DOCTYPE LWM2M [<!ENTITY a \"b\">]><LWM2M>&a;</LWM2M>", err, sizeof(err)),
	    "<!DOCTYPE>: a DDF has no DTD"));
	assert_string_equal(ddf_error(OBJ(HEAD "<Resources/>", ""), err, sizeof(err)),
			    "t.xml:2: <Resources>: appears twice in <Object>");
	assert_string_equal(
	    ddf_error(OBJ(HEAD, "<Item ID=\"1\"><Name>a</Name></Item>"), err, sizeof(err)),
	    "t.xml:3: <Item>: missing its required <MultipleInstances> element");
}

/* Writes text to dir/name. */
static void put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void ddf_dir_rules(void **state)
{
	char dir[] = "/tmp/test_emu_model_XXXXXX", err[512] = "", cmd[300];
	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Empty: a --models naming the wrong directory must not pass silently. */
	assert_null(emu_models_load_dir(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "no *.xml DDF files"));
	/* A DDF for 3 overrides the built-in Device model. */
	put_file(dir, "a.xml",
		 OBJ("<Name>My Device</Name><ObjectID>3</ObjectID>"
		     "<MultipleInstances>Single</MultipleInstances>",
		     ITEM("0", "Integer")));
	put_file(dir, "notes.txt", "not a DDF");
	struct emu_models *m = emu_models_load_dir(dir, err, sizeof(err));
	CHECK(m, err);
	assert_string_equal(emu_model_object(m, 3)->name, "My Device");
	assert_int_equal(emu_model_resource(emu_model_object(m, 3), 0)->type, EMU_RT_INTEGER);
	emu_models_free(m);
	/* Two files for one object: both named. */
	put_file(dir, "b.xml",
		 OBJ("<Name>Other</Name><ObjectID>3</ObjectID>"
		     "<MultipleInstances>Single</MultipleInstances>",
		     ""));
	assert_null(emu_models_load_dir(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "b.xml: object 3 is already defined by"));
	assert_non_null(strstr(err, "a.xml"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* End to end: --models tests/models, a plain CoAP device registers; a
 * control Read of /3303/0/5700 answered with Wakaama's TLV c1f00000. */
static void tweak(struct emu_config *cfg)
{
	cfg->coap_port = 0;
	cfg->control = strdup(test_ctl_path);
	cfg->models_dir = strdup(MODELS_DIR);
	cfg->models_where = "--models";
}

static int e2e_setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_model_%d.sock",
		 (int)getpid());
	start_server(tweak);
	return 0;
}

static int e2e_teardown(void **state)
{
	(void)state;
	return stop_server();
}

/* Answers the request in `in` with a piggybacked 2.05 TLV payload. */
static void answer_tlv(int fd, const uint8_t *in, const uint8_t *payload, size_t plen)
{
	uint8_t ack[128];
	size_t tkl = in[0] & 0x0f, m = 0;
	ack[m++] = (uint8_t)(COAP_ACK | tkl);
	ack[m++] = 0x45;
	ack[m++] = in[2];
	ack[m++] = in[3];
	memcpy(ack + m, in + 4, tkl);
	m += tkl;
	ack[m++] = 0xc2; /* Content-Format 11542, 2 bytes */
	ack[m++] = 0x2d;
	ack[m++] = 0x16;
	ack[m++] = 0xff;
	memcpy(ack + m, payload, plen);
	m += plen;
	assert_int_equal(send(fd, ack, m, 0), (ssize_t)m);
}

static void e2e_typed_event(void **state)
{
	uint8_t req[256], in[256];
	(void)state;
	assert_true(events_have("\"event\":\"model_loaded\"", 2));
	assert_true(events_have("\"object\":33000", 1));
	int fd = new_socket(server_port_of("coap"));
	size_t n = build_request(req, 0x02, 0x7000, "rd", "ep=model-1&lt=60", "</3303/0>");
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, in, sizeof(in)) > 4);
	assert_int_equal(in[1], 0x41);
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"model-1\",\"method\":\"read\","
			"\"path\":\"/3303/0/5700\"}\n");
	assert_true(recv_within(fd, in, sizeof(in)) > 4);
	assert_int_equal(in[1], 0x01); /* GET */
	answer_tlv(fd, in, wakaama_temp, sizeof(wakaama_temp));
	assert_true(events_have("\"path\":\"/3303/0/5700\",\"name\":\"Sensor Value\","
				"\"value_hex\":\"c1f00000\",\"type\":\"float\",\"value\":-30.0",
				1));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtin_lookup),
	    cmocka_unit_test(ddf_dir_loaded),
	    cmocka_unit_test(tlv_float_with_ddf),
	    cmocka_unit_test(tlv_guesses_without_model),
	    cmocka_unit_test(tlv_builtin_location_and_device),
	    cmocka_unit_test(tlv_mismatch_noted),
	    cmocka_unit_test(senml_checked),
	    cmocka_unit_test(ddf_errors),
	    cmocka_unit_test(ddf_dir_rules),
	    cmocka_unit_test_setup_teardown(e2e_typed_event, e2e_setup, e2e_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
