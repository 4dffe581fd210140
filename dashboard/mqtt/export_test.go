package mqtt

// RoomTopics are the topics the console subscribes to in every room.
var RoomTopics = roomTopics

// ResendMax bounds the events one request asks for.
const ResendMax = resendMax
