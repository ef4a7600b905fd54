/* The core OMA LwM2M objects (TS Core 1.1 appendix E; ids, types and
 * operations as the OMA object registry's current DDFs give them):
 * Security, Server, Access Control, Device, Connectivity Monitoring,
 * Firmware Update, Location and Connectivity Statistics, as compact
 * tables, so a TLV answer from any client decodes typed with no DDF file
 * given. Resource ids are sorted (emu_model_resource searches them). */
#include "emu_model.h"

#define S 0 /* single */
#define M 1 /* multiple */
#define RO EMU_OP_R
#define WO EMU_OP_W
#define RW (EMU_OP_R | EMU_OP_W)
#define EX EMU_OP_E
#define NO 0
#define RES(id, type, mult, ops, name)                                                             \
	{                                                                                          \
		id, EMU_RT_##type, mult, ops, name                                                 \
	}
#define OBJ(id, mult, name, tab)                                                                   \
	{                                                                                          \
		id, mult, name, tab, sizeof(tab) / sizeof(tab[0]), "built-in"                      \
	}

static const struct emu_res_model security[] = {
    RES(0, STRING, S, NO, "LWM2M Server URI"),
    RES(1, BOOLEAN, S, NO, "Bootstrap-Server"),
    RES(2, INTEGER, S, NO, "Security Mode"),
    RES(3, OPAQUE, S, NO, "Public Key or Identity"),
    RES(4, OPAQUE, S, NO, "Server Public Key"),
    RES(5, OPAQUE, S, NO, "Secret Key"),
    RES(6, INTEGER, S, NO, "SMS Security Mode"),
    RES(7, OPAQUE, S, NO, "SMS Binding Key Parameters"),
    RES(8, OPAQUE, S, NO, "SMS Binding Secret Key(s)"),
    RES(9, STRING, S, NO, "LwM2M Server SMS Number"),
    RES(10, INTEGER, S, NO, "Short Server ID"),
    RES(11, INTEGER, S, NO, "Client Hold Off Time"),
    RES(12, INTEGER, S, NO, "Bootstrap-Server Account Timeout"),
    RES(13, UNSIGNED, S, NO, "Matching Type"),
    RES(14, STRING, S, NO, "SNI"),
    RES(15, UNSIGNED, S, NO, "Certificate Usage"),
    RES(16, UNSIGNED, M, NO, "DTLS/TLS Ciphersuite"),
    RES(17, OBJLNK, S, NO, "OSCORE Security Mode"),
};

static const struct emu_res_model server[] = {
    RES(0, INTEGER, S, RO, "Short Server ID"),
    RES(1, INTEGER, S, RW, "Lifetime"),
    RES(2, INTEGER, S, RW, "Default Minimum Period"),
    RES(3, INTEGER, S, RW, "Default Maximum Period"),
    RES(4, NONE, S, EX, "Disable"),
    RES(5, INTEGER, S, RW, "Disable Timeout"),
    RES(6, BOOLEAN, S, RW, "Notification Storing When Disabled or Offline"),
    RES(7, STRING, S, RW, "Binding"),
    RES(8, NONE, S, EX, "Registration Update Trigger"),
    RES(9, NONE, S, EX, "Bootstrap-Request Trigger"),
    RES(10, OBJLNK, S, RW, "APN Link"),
    RES(11, UNSIGNED, S, RO, "TLS-DTLS Alert Code"),
    RES(12, TIME, S, RO, "Last Bootstrapped"),
    RES(13, UNSIGNED, S, RO, "Registration Priority Order"),
    RES(14, UNSIGNED, S, RW, "Initial Registration Delay Timer"),
    RES(15, BOOLEAN, S, RO, "Registration Failure Block"),
    RES(16, BOOLEAN, S, RO, "Bootstrap on Registration Failure"),
    RES(17, UNSIGNED, S, RW, "Communication Retry Count"),
    RES(18, UNSIGNED, S, RW, "Communication Retry Timer"),
    RES(19, UNSIGNED, S, RW, "Communication Sequence Delay Timer"),
    RES(20, UNSIGNED, S, RW, "Communication Sequence Retry Count"),
    RES(21, BOOLEAN, S, RW, "Trigger"),
    RES(22, STRING, S, RW, "Preferred Transport"),
    RES(23, BOOLEAN, S, RW, "Mute Send"),
    RES(24, OBJLNK, M, RW, "Alternate APN Links"),
    RES(25, STRING, M, RW, "Supported Server Versions"),
    RES(26, INTEGER, S, RW, "Default Notification Mode"),
    RES(27, UNSIGNED, S, RW, "Profile ID Hash Algorithm"),
};

static const struct emu_res_model access_control[] = {
    RES(0, INTEGER, S, RO, "Object ID"),
    RES(1, INTEGER, S, RO, "Object Instance ID"),
    RES(2, INTEGER, M, RW, "ACL"),
    RES(3, INTEGER, S, RW, "Access Control Owner"),
};

static const struct emu_res_model device[] = {
    RES(0, STRING, S, RO, "Manufacturer"),
    RES(1, STRING, S, RO, "Model Number"),
    RES(2, STRING, S, RO, "Serial Number"),
    RES(3, STRING, S, RO, "Firmware Version"),
    RES(4, NONE, S, EX, "Reboot"),
    RES(5, NONE, S, EX, "Factory Reset"),
    RES(6, INTEGER, M, RO, "Available Power Sources"),
    RES(7, INTEGER, M, RO, "Power Source Voltage"),
    RES(8, INTEGER, M, RO, "Power Source Current"),
    RES(9, INTEGER, S, RO, "Battery Level"),
    RES(10, INTEGER, S, RO, "Memory Free"),
    RES(11, INTEGER, M, RO, "Error Code"),
    RES(12, NONE, S, EX, "Reset Error Code"),
    RES(13, TIME, S, RW, "Current Time"),
    RES(14, STRING, S, RW, "UTC Offset"),
    RES(15, STRING, S, RW, "Timezone"),
    RES(16, STRING, S, RO, "Supported Binding and Modes"),
    RES(17, STRING, S, RO, "Device Type"),
    RES(18, STRING, S, RO, "Hardware Version"),
    RES(19, STRING, S, RO, "Software Version"),
    RES(20, INTEGER, S, RO, "Battery Status"),
    RES(21, INTEGER, S, RO, "Memory Total"),
    RES(22, OBJLNK, M, RO, "ExtDevInfo"),
};

static const struct emu_res_model conn_monitoring[] = {
    RES(0, INTEGER, S, RO, "Network Bearer"),
    RES(1, INTEGER, M, RO, "Available Network Bearer"),
    RES(2, INTEGER, S, RO, "Radio Signal Strength"),
    RES(3, INTEGER, S, RO, "Link Quality"),
    RES(4, STRING, M, RO, "IP Addresses"),
    RES(5, STRING, M, RO, "Router IP Addresses"),
    RES(6, INTEGER, S, RO, "Link Utilization"),
    RES(7, STRING, M, RO, "APN"),
    RES(8, INTEGER, S, RO, "Cell ID"),
    RES(9, INTEGER, S, RO, "SMNC"),
    RES(10, INTEGER, S, RO, "SMCC"),
    RES(11, INTEGER, S, RO, "SignalSNR"),
    RES(12, INTEGER, S, RO, "LAC"),
    RES(13, INTEGER, S, RO, "Coverage Enhancement Level"),
};

static const struct emu_res_model firmware_update[] = {
    RES(0, OPAQUE, S, WO, "Package"),
    RES(1, STRING, S, RW, "Package URI"),
    RES(2, NONE, S, EX, "Update"),
    RES(3, INTEGER, S, RO, "State"),
    RES(5, INTEGER, S, RO, "Update Result"),
    RES(6, STRING, S, RO, "PkgName"),
    RES(7, STRING, S, RO, "PkgVersion"),
    RES(8, INTEGER, M, RO, "Firmware Update Protocol Support"),
    RES(9, INTEGER, S, RO, "Firmware Update Delivery Method"),
    RES(10, NONE, S, EX, "Cancel"),
    RES(11, INTEGER, S, RW, "Severity"),
    RES(12, TIME, S, RO, "Last State Change Time"),
    RES(13, UNSIGNED, S, RW, "Maximum Defer Period"),
    RES(14, BOOLEAN, S, RW, "Automatic Upgrade at Download"),
};

static const struct emu_res_model location[] = {
    RES(0, FLOAT, S, RW, "Latitude"),
    RES(1, FLOAT, S, RW, "Longitude"),
    RES(2, FLOAT, S, RW, "Altitude"),
    RES(3, FLOAT, S, RO, "Radius"),
    RES(4, OPAQUE, S, RO, "Velocity"),
    RES(5, TIME, S, RO, "Timestamp"),
    RES(6, FLOAT, S, RO, "Speed"),
    RES(8, FLOAT, S, RW, "Expected Latitude"),
    RES(9, FLOAT, S, RW, "Expected Longitude"),
    RES(10, FLOAT, S, RW, "Expected Altitude"),
    RES(11, FLOAT, S, RW, "Location Change Threshold"),
    RES(12, BOOLEAN, S, RO, "Location Changed"),
};

static const struct emu_res_model conn_statistics[] = {
    RES(0, INTEGER, S, RO, "SMS Tx Counter"),
    RES(1, INTEGER, S, RO, "SMS Rx Counter"),
    RES(2, INTEGER, S, RO, "Tx Data"),
    RES(3, INTEGER, S, RO, "Rx Data"),
    RES(4, INTEGER, S, RO, "Max Message Size"),
    RES(5, INTEGER, S, RO, "Average Message Size"),
    RES(6, NONE, S, EX, "Start"),
    RES(7, NONE, S, EX, "Stop"),
    RES(8, INTEGER, S, RW, "Collection Period"),
};

static const struct emu_obj_model builtin[] = {
    OBJ(0, M, "LWM2M Security", security),
    OBJ(1, M, "LwM2M Server", server),
    OBJ(2, M, "LwM2M Access Control", access_control),
    OBJ(3, S, "Device", device),
    OBJ(4, S, "Connectivity Monitoring", conn_monitoring),
    OBJ(5, S, "Firmware Update", firmware_update),
    OBJ(6, S, "Location", location),
    OBJ(7, S, "Connectivity Statistics", conn_statistics),
};

/* The table is indexed by object id: the built-in objects are 0..7. */
const struct emu_obj_model *emu_model_builtin(uint32_t obj)
{
	return obj < sizeof(builtin) / sizeof(builtin[0]) ? &builtin[obj] : NULL;
}
