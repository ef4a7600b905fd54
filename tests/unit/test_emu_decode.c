/* Unit tests for the payload decoders the event log uses: OMA TLV and
 * SenML JSON, including malformed input that must be refused with the
 * offset or record that was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/emu_senml.h"
#include "server/emu_tlv.h"

static void tlv_device_object(void **state)
{
	(void)state;
	/* /3/0: resource 0 "Open Mobile Alliance" (8-bit length), resource 9
	 * battery level 100 (1 byte), multiple resource 6 {0: 1, 1: 5}. */
	static const uint8_t buf[] = {0xc8, 0x00, 0x14, 'O',  'p',  'e',  'n',	' ',  'M',
				      'o',  'b',  'i',	'l',  'e',  ' ',  'A',	'l',  'l',
				      'i',  'a',  'n',	'c',  'e',  0xc1, 0x09, 0x64, 0x86,
				      0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05};
	char err[128] = "";
	json_t *t = emu_tlv_decode(buf, sizeof(buf), err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	assert_int_equal(json_array_size(t), 3);
	json_t *r0 = json_array_get(t, 0);
	assert_string_equal(json_string_value(json_object_get(r0, "kind")), "resource");
	assert_int_equal(json_integer_value(json_object_get(r0, "id")), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "text")), "Open Mobile Alliance");
	json_t *r9 = json_array_get(t, 1);
	assert_int_equal(json_integer_value(json_object_get(r9, "int")), 100);
	json_t *m6 = json_array_get(t, 2);
	assert_string_equal(json_string_value(json_object_get(m6, "kind")), "multiple_resource");
	json_t *kids = json_object_get(m6, "children");
	assert_int_equal(json_array_size(kids), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(kids, 1), "id")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(kids, 1), "int")), 5);
	json_decref(t);
}

static void tlv_object_instance_and_negative(void **state)
{
	(void)state;
	/* Object instance 1 (16-bit id) holding resource 2 = -2 (2 bytes). */
	static const uint8_t buf[] = {0x04, 0x01, 0xc2, 0x02, 0xff, 0xfe};
	static const uint8_t buf16[] = {0x24, 0x01, 0x00, 0xc2, 0x02, 0xff, 0xfe};
	char err[128] = "";
	json_t *t = emu_tlv_decode(buf, sizeof(buf), err, sizeof(err));
	assert_non_null(t);
	json_t *oi = json_array_get(t, 0);
	assert_string_equal(json_string_value(json_object_get(oi, "kind")), "object_instance");
	json_t *r = json_array_get(json_object_get(oi, "children"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "int")), -2);
	assert_string_equal(json_string_value(json_object_get(r, "value_hex")), "fffe");
	json_decref(t);
	t = emu_tlv_decode(buf16, sizeof(buf16), err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 0), "id")), 256);
	json_decref(t);
}

static void tlv_malformed(void **state)
{
	(void)state;
	static const uint8_t overlong[] = {0xc8, 0x00, 0x10, 'a'};
	static const uint8_t short_hdr[] = {0xe8, 0x00};
	static const uint8_t bad_child[] = {0x03, 0x01, 0xc8, 0x00, 0x05};
	char err[128] = "";
	assert_null(emu_tlv_decode(overlong, sizeof(overlong), err, sizeof(err)));
	assert_non_null(strstr(err, "offset 0 claims 16 bytes"));
	assert_null(emu_tlv_decode(short_hdr, sizeof(short_hdr), err, sizeof(err)));
	assert_non_null(strstr(err, "truncated at offset 0"));
	assert_null(emu_tlv_decode(bad_child, sizeof(bad_child), err, sizeof(err)));
	assert_non_null(strstr(err, "offset 2"));
}

static void senml_base_names_and_times(void **state)
{
	(void)state;
	const char *doc = "[{\"bn\":\"/3/0/\",\"bt\":100,\"n\":\"0\",\"vs\":\"ACME\"},"
			  "{\"n\":\"9\",\"v\":87,\"t\":5},{\"n\":\"1\",\"vb\":true},"
			  "{\"bn\":\"/1/0/\",\"n\":\"1\",\"v\":300}]";
	char err[128] = "";
	json_t *r = emu_senml_decode(doc, strlen(doc), err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(json_array_size(r), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")),
			    "/3/0/0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "value")),
			    "ACME");
	assert_int_equal((int)json_number_value(json_object_get(json_array_get(r, 1), "time")),
			 105);
	assert_int_equal((int)json_number_value(json_object_get(json_array_get(r, 1), "value")),
			 87);
	assert_true(json_is_true(json_object_get(json_array_get(r, 2), "value")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3), "name")),
			    "/1/0/1");
	json_decref(r);
}

static void senml_malformed(void **state)
{
	(void)state;
	char err[128] = "";
	assert_null(emu_senml_decode("{}", 2, err, sizeof(err)));
	assert_non_null(strstr(err, "not a SenML JSON array"));
	assert_null(emu_senml_decode("[{\"n\":1}]", 9, err, sizeof(err)));
	assert_non_null(strstr(err, "record 0"));
	assert_null(emu_senml_decode("[{\"n\":\"a\"},3]", 13, err, sizeof(err)));
	assert_non_null(strstr(err, "record 1"));
	assert_null(emu_senml_decode("[", 1, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tlv_device_object), cmocka_unit_test(tlv_object_instance_and_negative),
	    cmocka_unit_test(tlv_malformed),	 cmocka_unit_test(senml_base_names_and_times),
	    cmocka_unit_test(senml_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
