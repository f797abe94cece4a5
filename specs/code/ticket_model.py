"""The seed's subclassed ticket classifier (`CustomerTicketModel`), used by ticket_subclass.yaml."""

import keras
from keras import layers


class CustomerTicketModel(keras.Model):
    """Priority (0..1) and department (softmax) of a ticket from its title, body and tags."""

    def __init__(self, num_departments, hidden_units=64, **kwargs):
        super().__init__(**kwargs)
        self.num_departments = num_departments
        self.hidden_units = hidden_units
        self.concat_layer = layers.Concatenate()
        self.mixing_layer = layers.Dense(hidden_units, activation="relu")
        self.priority_scorer = layers.Dense(1, activation="sigmoid")
        self.department_classifier = layers.Dense(num_departments, activation="softmax")

    def call(self, inputs):
        features = self.concat_layer([inputs["title"], inputs["text_body"], inputs["tags"]])
        features = self.mixing_layer(features)
        return {
            "priority": self.priority_scorer(features),
            "department": self.department_classifier(features),
        }

    def get_config(self):
        return {**super().get_config(), "num_departments": self.num_departments, "hidden_units": self.hidden_units}
