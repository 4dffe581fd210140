package gateway

import "slices"

// CommandRoles say, for each command, the roles of the people who may give
// it: the person named in its by must be in the room's register, valid
// today, allowed in this room, and of one of these roles (an empty list:
// any role). The room checks them (room.Authorize); a config may override
// any command's (command_roles).
type CommandRoles map[string][]Role

// The people who work in the room, and the guards with them.
var (
	officeRoles = []Role{RoleClerk, RoleSecurityOfficer, RoleLeader}
	guardRoles  = []Role{RoleGuard, RoleClerk, RoleSecurityOfficer, RoleLeader}
)

// DefaultCommandRoles is issue 17's table (docs/commands.md):
//   - arm: anyone allowed in the room;
//   - disarm, bypass, seal, unseal, the carrier commands: its clerks,
//     security officers and leaders;
//   - ack, visitor/register, visitor/checkout, inventory/run: the guards
//     too;
//   - safe/release: a clerk (the safes' custodians) or a security officer;
//   - personnel/replace, carriers/replace, calldown/replace: a security
//     officer.
//
// events/resend and inventory/show name no person (a console's, a reader's).
func DefaultCommandRoles() CommandRoles {
	return CommandRoles{
		"arm": nil, "disarm": officeRoles, "bypass": officeRoles, "seal": officeRoles, "unseal": officeRoles,
		"ack": guardRoles, "visitor/register": guardRoles, "visitor/checkout": guardRoles, "inventory/run": guardRoles,
		"carrier/signout": officeRoles, "carrier/return": officeRoles, "carrier/extend": officeRoles,
		"carrier/receive": officeRoles, // 收文登记: the clerk registers what arrives
		"carrier/loss":    officeRoles, // 丢失报告: the custodian or an officer reports it
		"carrier/approve": officeRoles, // the approver or the second person the sign-out names (the vault checks which)
		// Issue 30: the clerk's steps of a carrier's life; the people a
		// step names (a reader, a witness, a custodian) confirm it with
		// carrier/confirm whatever their role (the vault checks they are
		// named).
		"carrier/circulate": officeRoles, "carrier/copy": officeRoles, "carrier/archive": officeRoles,
		"carrier/return-to-issuer": officeRoles, "carrier/destroy": officeRoles, "custody/transfer": {RoleSecurityOfficer, RoleLeader},
		"carrier/confirm": nil,
		// 钥匙/密码: the one who changed it and the witness, each
		"safe/combination-changed": {RoleClerk, RoleSecurityOfficer, RoleLeader},
		// 维修: asked for by the office, approved by a leader, closed by the custodian who supervised it
		"maintenance/request": officeRoles, "maintenance/approve": {RoleLeader}, "maintenance/close": officeRoles,
		"safe/release":      {RoleClerk, RoleSecurityOfficer},
		"personnel/replace": {RoleSecurityOfficer}, "carriers/replace": {RoleSecurityOfficer},
		"calldown/replace": {RoleSecurityOfficer},
	}
}

// NamesPerson tells whether command's by must be a person of the register.
func NamesPerson(command string) bool {
	return command != "events/resend" && command != "inventory/show"
}

// Allows tells whether a person of role may give command.
func (c CommandRoles) Allows(command string, role Role) bool {
	roles := c[command]
	return len(roles) == 0 || slices.Contains(roles, role)
}
