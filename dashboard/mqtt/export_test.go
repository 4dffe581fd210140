package mqtt

// RoomTopics are the topics the console subscribes to in every room.
var RoomTopics = roomTopics
